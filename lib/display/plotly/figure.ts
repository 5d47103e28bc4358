import { randomUUID } from "node:crypto";
import { inspect } from "node:util";
import { display, updateDisplay } from "../display.js";
import { JUPYTER_DISPLAY, type Displayable, type MimeBundle } from "../protocol.js";
import { escapeHtml, jsonForScript, toJsonValue } from "../text.js";
import { Throttle } from "../throttle.js";
import { ensureLibraryInCell, libraryScript, PAGE_KEY } from "./library.js";

/**
 * One Plotly trace (https://plotly.com/javascript/reference/): `type` (default `"scatter"`),
 * `x`, `y`, `name`, `mode`, … Arrays may be typed arrays. Kept open on purpose: plotly.js has
 * hundreds of attributes and its generated types would slow the notebook's type checker.
 */
export interface PlotlyTrace {
  type?: string;
  name?: string;
  x?: ArrayLike<unknown>;
  y?: ArrayLike<unknown>;
  z?: ArrayLike<unknown>;
  mode?: string;
  [attribute: string]: unknown;
}

/** A Plotly figure as plotly.js and the `application/vnd.plotly.v1+json` MIME type take it. */
export interface PlotlyFigureSpec {
  data: PlotlyTrace[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
  frames?: unknown[];
}

/** Options of {@link PlotlyFigure.extend}. */
export interface ExtendOptions {
  /** Keep only the last `maxPoints` values of every extended attribute (a moving window). */
  maxPoints?: number;
}

/** Redraws of a shown figure per second, at most (see {@link PlotlyFigure.show}). */
export const FIGURE_REDRAWS_PER_SECOND = 4;

/**
 * A Plotly figure: displayable as it is (`display(fig)` or as a cell's last expression), and
 * live once shown with {@link PlotlyFigure.show}: `extend` appends points and `update` changes
 * anything, and the shown output is redrawn in place, at most
 * {@link FIGURE_REDRAWS_PER_SECOND} times a second (each redraw re-sends the figure's data and
 * plotly.js re-lays it out, so faster adds load without adding anything visible); the last state
 * is always drawn, before the cell ends.
 *
 * Every output carries `application/vnd.plotly.v1+json` (JupyterLab, VS Code), a `text/html`
 * rendering that draws with no network (classic notebook, nbconvert HTML, a saved notebook
 * reopened later), and a `text/plain` summary.
 */
export class PlotlyFigure implements Displayable {
  /** The figure shown; mutate it and call {@link PlotlyFigure.update} to redraw. */
  readonly figure: PlotlyFigureSpec;
  #id: string | undefined;
  readonly #throttle = new Throttle(1000 / FIGURE_REDRAWS_PER_SECOND, () => updateDisplay(this.#id!, this.#live()));

  constructor(figure: PlotlyFigureSpec) {
    checkFigure(figure);
    this.figure = figure;
  }

  /** The display id of the live output, once shown. */
  get id(): string | undefined {
    return this.#id;
  }

  /**
   * Shows the figure as a live output (again under the same id when already shown: every output
   * is then updated together). Returns the figure, for chaining.
   */
  show(options: { id?: string } = {}): this {
    this.#id ??= options.id ?? randomUUID();
    ensureLibraryInCell();
    display(this.#live(), { id: this.#id });
    return this;
  }

  /**
   * Appends points to trace `trace`: each attribute of `points` (`x`, `y`, `text`, …) gets the
   * given values appended (an array appends each element; anything else one point). A shown
   * figure is redrawn (throttled).
   *
   * @example
   * fig.extend(0, { x: step, y: loss });
   */
  extend(trace: number, points: Record<string, unknown>, options: ExtendOptions = {}): void {
    const target = this.figure.data[trace];
    if (!Number.isInteger(trace) || target === undefined) {
      throw new RangeError(`extend(): trace ${trace} does not exist; the figure has ${this.figure.data.length} traces (0–${this.figure.data.length - 1})`);
    }
    const max = options.maxPoints;
    if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new RangeError(`extend(): maxPoints must be a positive integer, got ${max}`);
    for (const [key, value] of Object.entries(points)) {
      const current = target[key];
      if (current !== undefined && !isArrayLike(current)) {
        throw new TypeError(`extend(): trace ${trace} has a non-array "${key}" (${inspect(current)}); only array attributes can be extended`);
      }
      const added = isArrayLike(value) ? Array.from(value) : [value];
      const merged = [...Array.from((current ?? []) as ArrayLike<unknown>), ...added];
      target[key] = max !== undefined && merged.length > max ? merged.slice(merged.length - max) : merged;
    }
    this.#redraw();
  }

  /** Applies `change` to the figure (if given) and redraws a shown figure (throttled). */
  update(change?: (figure: PlotlyFigureSpec) => void): void {
    if (change) change(this.figure);
    checkFigure(this.figure);
    this.#redraw();
  }

  /** Draws the current state now (skipping the throttle). */
  flush(): void {
    if (this.#id !== undefined) this.#throttle.flush();
  }

  /** A static snapshot of the figure, carrying plotly.js itself when no kernel is attached. */
  [JUPYTER_DISPLAY](): MimeBundle {
    const attached = ensureLibraryInCell();
    return figureBundle(this.figure, !attached);
  }

  [inspect.custom](): string {
    return summary(this.figure);
  }

  #redraw(): void {
    if (this.#id !== undefined) this.#throttle.request();
  }

  // What the live output shows: the data only (the cell already has the library).
  #live(): Displayable {
    return { [JUPYTER_DISPLAY]: () => figureBundle(this.figure, false) };
  }
}

/**
 * A Plotly figure, displayable and live-updatable: see {@link PlotlyFigure}.
 *
 * @example
 * const fig = plotly({ data: [{ y: [], name: "loss", mode: "lines" }], layout: { title: { text: "training" } } }).show();
 * for (let step = 0; step < 1000; step++) fig.extend(0, { y: trainStep() });
 */
export function plotly(figure: PlotlyFigureSpec): PlotlyFigure {
  return new PlotlyFigure(figure);
}

/** The bundle of a figure; `embedLibrary` puts plotly.js inside the HTML (a self-contained page). */
export function figureBundle(figure: PlotlyFigureSpec, embedLibrary: boolean): MimeBundle {
  const spec = toJsonValue(figure, "plotly figure") as PlotlyFigureSpec;
  return {
    "application/vnd.plotly.v1+json": spec,
    "text/html": (embedLibrary ? libraryScript() : "") + figureHtml(spec),
    "text/plain": summary(figure),
  };
}

function figureHtml(spec: PlotlyFigureSpec): string {
  const id = `cluelab-plotly-${randomUUID()}`;
  const height = typeof spec.layout?.["height"] === "number" ? `${spec.layout["height"]}px` : "450px";
  const config = { responsive: true, ...spec.config };
  const figure = { data: spec.data, layout: spec.layout ?? {}, config, frames: spec.frames };
  // The element may not be in the document yet when the script runs (JupyterLab renders outputs
  // detached): plotly.js needs its size, so drawing waits until it is attached.
  return `<div id="${id}" class="cluelab-plotly" style="width:100%;height:${height}"><div class="cluelab-plotly-wait" style="font:13px sans-serif;color:#888;padding:8px">${escapeHtml(summary(spec))} — waiting for plotly.js (sent with the first figure of its cell; run the cell again if that output was cleared)</div></div>
<script>(function () {
  var figure = ${jsonForScript(figure)}, id = ${JSON.stringify(id)}, script = document.currentScript, tries = 0;
  function element() {
    var before = script && script.previousElementSibling;
    return before && before.id === id ? before : document.getElementById(id);
  }
  function draw(Plotly) {
    var el = element();
    if (!el) return;
    if (!el.isConnected) { if (++tries < 600) requestAnimationFrame(function () { draw(Plotly); }); return; }
    var wait = el.querySelector(".cluelab-plotly-wait");
    if (wait) wait.remove();
    Plotly.newPlot(el, figure.data, figure.layout, figure.config).then(function () {
      if (figure.frames) Plotly.addFrames(el, figure.frames);
    });
  }
  var w = window, K = ${JSON.stringify(PAGE_KEY)};
  if (w.Plotly && w.Plotly.newPlot) draw(w.Plotly);
  else (w[K] = w[K] || []).push(draw);
})();</script>`;
}

function summary(figure: PlotlyFigureSpec): string {
  const layout = figure.layout ?? {};
  const rawTitle = layout["title"];
  const title = typeof rawTitle === "string" ? rawTitle : (rawTitle as { text?: unknown } | undefined)?.text;
  const traces = figure.data.map((t) => {
    const points = [t.x, t.y, t.z, t["values"]].find((v) => isArrayLike(v)) as ArrayLike<unknown> | undefined;
    return `${t.type ?? "scatter"}${typeof t.name === "string" ? ` "${t.name}"` : ""}${points ? ` (${points.length} points)` : ""}`;
  });
  return `[Plotly figure${typeof title === "string" ? ` "${title}"` : ""}: ${traces.length} trace${traces.length === 1 ? "" : "s"}${traces.length ? ` — ${traces.join(", ")}` : ""}]`;
}

function checkFigure(figure: unknown): asserts figure is PlotlyFigureSpec {
  const f = figure as PlotlyFigureSpec | null;
  if (f === null || typeof f !== "object" || !Array.isArray(f.data)) {
    throw new TypeError(`plotly(): expected a figure { data: [traces], layout?, config? }, got ${inspect(figure, { depth: 1 })}`);
  }
  f.data.forEach((t, i) => {
    if (t === null || typeof t !== "object" || Array.isArray(t)) throw new TypeError(`plotly(): trace ${i} must be an object like { x, y, type }, got ${inspect(t)}`);
  });
  for (const key of ["layout", "config"] as const) {
    const v = f[key];
    if (v !== undefined && (v === null || typeof v !== "object" || Array.isArray(v))) throw new TypeError(`plotly(): ${key} must be an object, got ${inspect(v)}`);
  }
}

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}
