/**
 * `cluelab/display`: show rich outputs in a notebook — HTML, Markdown, images from raw pixels,
 * tables, Plotly figures (live-updatable, drawn with no network), progress bars — and the
 * display protocol any kernel implements to receive them.
 *
 * Inside the cluelab kernel, displays go to the notebook through the sink the kernel installs;
 * elsewhere (scripts, the CLI, tests) every output degrades to its `text/plain` form on the
 * terminal, and progress bars to a line on stderr.
 *
 * @packageDocumentation
 */
export * from "./protocol.js";
export { toMimeBundle, toDisplayData, renderDisplayData, plainText, type DisplayData } from "./bundle.js";
export { display, updateDisplay, clearOutput, type DisplayHandle, type DisplayOptions } from "./display.js";
export { Rich, html, md, svg, png, json, type ImageSize } from "./mime.js";
export { image, imageGrid, PngImage, type ImageOptions, type ImageGridOptions } from "./image/image.js";
export type { PixelArray, Channels, ValueRange, RawImage } from "./image/pixels.js";
export { table, type TableRow, type TableOptions } from "./table.js";
export {
  plotly,
  PlotlyFigure,
  FIGURE_REDRAWS_PER_SECOND,
  type PlotlyFigureSpec,
  type PlotlyTrace,
  type ExtendOptions,
} from "./plotly/figure.js";
export { progress, PROGRESS_REDRAWS_PER_SECOND, type Progress, type ProgressOptions } from "./progress/progress.js";
