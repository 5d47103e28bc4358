/**
 * Real-browser checks of the offline HTML: pages rendered by headless Chromium with every host
 * name unresolvable, and the screenshot's pixels inspected (not the HTML): the Plotly trace's
 * colour must be on screen, as must a finished progress bar and an image grid in nbconvert's HTML
 * of a notebook whose outputs come from this library.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { display, imageGrid, md, plotly, progress, toMimeBundle } from "../../lib/display/index.js";
import { countColour, screenshot } from "../helpers/chromium.js";
import { run } from "../helpers/run.js";
import { FakeKernel, notebookOutputs, savedWidgetState } from "./recording.js";

const TRACE = [255, 0, 255] as const; // the magenta line drawn by plotly.js
const BAR_GREEN = [0x4c, 0xaf, 0x50] as const; // a complete progress bar
const TILE_RED = [255, 0, 0] as const; // an image-grid tile

let dir: string;

const magentaFigure = () =>
  plotly({
    data: [{ x: [0, 1, 2, 3], y: [1, 3, 2, 4], mode: "lines", line: { color: "#ff00ff", width: 8 }, name: "loss" }],
    layout: { title: { text: "offline" }, width: 700, height: 400, margin: { t: 40 } },
  });

describe("offline HTML in a real browser (headless Chromium)", { timeout: 180_000 }, () => {
  before(async () => (dir = await mkdtemp(join(tmpdir(), "cluelab-display-browser-"))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it("a figure's text/html draws the plot with no network; without plotly.js it does not", async () => {
    const bundle = await toMimeBundle(magentaFigure());
    const page = join(dir, "figure.html");
    await writeFile(page, `<!doctype html><html><head><meta charset="utf-8"></head><body>${bundle["text/html"]}</body></html>`);
    const drawn = await screenshot(page, 800, 600, dir);
    assert.ok(countColour(drawn, TRACE) > 1500, `the trace colour covers ${countColour(drawn, TRACE)} pixels`);

    // The same figure as a kernel sends it (library in a separate output) alone: nothing drawn,
    // which shows the pixel check sees the difference.
    const kernel = new FakeKernel();
    try {
      display(magentaFigure());
    } finally {
      kernel.uninstall();
    }
    const [, figureOnly] = kernel.sink.displays;
    await writeFile(page, `<!doctype html><html><body>${figureOnly!.bundle["text/html"]}</body></html>`);
    assert.equal(countColour(await screenshot(page, 800, 600, dir), TRACE), 0);
  });

  it("nbconvert's HTML of a notebook with a live figure, a finished progress bar and an image grid shows all three", async () => {
    const kernel = new FakeKernel();
    try {
      display(md("## Training"));
      const fig = plotly({ data: [{ x: [], y: [], mode: "lines", line: { color: "#ff00ff", width: 8 } }], layout: { width: 700, height: 350 } }).show();
      const bar = progress(20, { label: "epochs" });
      for (let epoch = 0; epoch < 20; epoch++) {
        fig.extend(0, { x: epoch, y: Math.exp(-epoch / 5) });
        bar.increment(1, `loss ${Math.exp(-epoch / 5).toFixed(3)}`);
      }
      fig.flush();
      const red = new Float32Array(4 * 4 * 3).map((_, i) => (i % 3 === 0 ? 1 : 0));
      const blue = new Float32Array(4 * 4 * 3).map((_, i) => (i % 3 === 2 ? 1 : 0));
      display(imageGrid([red, blue], { width: 4, height: 4, channels: 3, scale: 10, labels: ["red", "blue"] }));
      await kernel.sink.settle();
    } finally {
      kernel.uninstall();
    }
    const outputs = notebookOutputs(kernel.sink.events);
    assert.ok(kernel.sink.events.some((e) => e.kind === "comm_open"), "the progress bar had a widget while running");
    const notebook = {
      nbformat: 4,
      nbformat_minor: 4,
      metadata: {
        kernelspec: { name: "cluelab", display_name: "TypeScript (cluelab)", language: "typescript" },
        language_info: { name: "typescript" },
        // as nbclient saves them: nbconvert then prefers a widget view (drawn from a CDN) over HTML,
        // so the finished bar must no longer offer one
        widgets: savedWidgetState(kernel.sink.events),
      },
      cells: [
        { cell_type: "markdown", metadata: {}, source: "# Offline outputs" },
        { cell_type: "code", metadata: {}, execution_count: 1, source: "// training loop", outputs },
      ],
    };
    const ipynb = join(dir, "outputs.ipynb");
    await writeFile(ipynb, JSON.stringify(notebook));
    const converted = await run("/usr/bin/jupyter", ["nbconvert", "--to", "html", ipynb, "--output-dir", dir], { timeoutMs: 120_000 });
    assert.equal(converted.code, 0, converted.stderr);
    const shot = await screenshot(join(dir, "outputs.html"), 1000, 1600, dir);
    assert.ok(countColour(shot, TRACE) > 1000, `the live figure's last state is drawn (${countColour(shot, TRACE)} trace pixels)`);
    assert.ok(countColour(shot, BAR_GREEN) > 1000, `the finished progress bar shows (${countColour(shot, BAR_GREEN)} green pixels)`);
    assert.ok(countColour(shot, TILE_RED) > 1000, `the image grid shows (${countColour(shot, TILE_RED)} red pixels)`);
  });
});
