import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { inspect } from "node:util";
import { afterEach, beforeEach, describe, it } from "node:test";
import { clearOutput, display, FIGURE_REDRAWS_PER_SECOND, plotly, toMimeBundle, type DisplayRequest } from "../../lib/display/index.js";
import { FakeKernel, notebookOutputs } from "./recording.js";

const PLOTLY_VERSION = (createRequire(import.meta.url)("plotly.js-dist-min/package.json") as { version: string }).version;
const isLibrary = (r: DisplayRequest) => String(r.bundle["text/html"] ?? "").includes("data-cluelab-plotly=");

const figure = () => ({
  data: [
    { x: new Float32Array([1, 2, 3]), y: [2, 1, 3], name: "train", mode: "lines" },
    { type: "bar", y: [1, 2], name: "</script><script>alert(1)</script>" },
  ],
  layout: { title: { text: "loss" } },
});

describe("plotly figures", () => {
  it("outside a kernel: a self-contained bundle (plotly JSON, HTML carrying plotly.js, a text summary)", async () => {
    const bundle = await toMimeBundle(plotly(figure()));
    const spec = bundle["application/vnd.plotly.v1+json"] as { data: Array<Record<string, unknown>>; layout: object };
    assert.deepEqual(spec.data[0]!["x"], [1, 2, 3], "typed arrays become JSON arrays");
    assert.deepEqual(spec.layout, { title: { text: "loss" } });
    const htmlText = bundle["text/html"] as string;
    assert.ok(htmlText.includes(`data-cluelab-plotly="${PLOTLY_VERSION}"`), "the library travels inside");
    assert.ok(htmlText.length > 1_000_000 && htmlText.length < 2_500_000, `gzip+base64 keeps it near 2 MB, got ${htmlText.length}`);
    assert.ok(!/<\/script><script>alert/.test(htmlText), "data cannot close the script element");
    assert.ok(!/https?:\/\//.test(htmlText.replace(/"[^"]*"/g, "")), "no network reference outside string data");
    assert.equal(bundle["text/plain"], '[Plotly figure "loss": 2 traces — scatter "train" (3 points), bar "</script><script>alert(1)</script>" (2 points)]');
    assert.equal(inspect(plotly(figure())), bundle["text/plain"]);
  });

  it("bad figures and bad extends get clear errors", () => {
    assert.throws(() => plotly({} as never), /expected a figure \{ data: \[traces\], layout\?, config\? \}/);
    assert.throws(() => plotly({ data: [3] } as never), /trace 0 must be an object/);
    assert.throws(() => plotly({ data: [], layout: [] } as never), /layout must be an object/);
    const fig = plotly({ data: [{ y: [1], mode: "lines" }] });
    assert.throws(() => fig.extend(1, { y: 2 }), /trace 1 does not exist; the figure has 1 traces \(0–0\)/);
    assert.throws(() => fig.extend(0, { mode: "x" }), /non-array "mode"/);
    assert.throws(() => fig.extend(0, { y: 1 }, { maxPoints: 0 }), /maxPoints must be a positive integer/);
  });

  it("extend appends points and keeps a moving window", () => {
    const fig = plotly({ data: [{ x: [], y: [] }] });
    fig.extend(0, { x: 0, y: 1 });
    fig.extend(0, { x: [1, 2], y: new Float64Array([3, 4]) });
    assert.deepEqual(fig.figure.data[0], { x: [0, 1, 2], y: [1, 3, 4] });
    fig.extend(0, { x: [3, 4], y: [5, 6] }, { maxPoints: 3 });
    assert.deepEqual(fig.figure.data[0], { x: [2, 3, 4], y: [4, 5, 6] });
  });
});

describe("plotly figures in a kernel", () => {
  let kernel: FakeKernel;
  beforeEach(() => (kernel = new FakeKernel()));
  afterEach(() => kernel.uninstall());

  it("plotly.js goes in its own output once per cell; figures carry only their data", () => {
    display(plotly(figure()));
    display(plotly(figure()));
    let shown = kernel.sink.displays;
    assert.deepEqual(shown.map(isLibrary), [true, false, false]);
    assert.equal(shown[0]!.bundle["text/plain"], "", "the library output is empty as text");
    assert.ok((shown[1]!.bundle["text/html"] as string).length < 5000);
    assert.ok("application/vnd.plotly.v1+json" in shown[1]!.bundle);

    kernel.nextCell();
    display(plotly(figure()));
    shown = kernel.sink.displays;
    assert.deepEqual(shown.map(isLibrary), [true, false, false, true, false], "a new cell gets its own copy");

    clearOutput({ wait: true });
    display(plotly(figure()));
    assert.deepEqual(kernel.sink.displays.slice(5).map(isLibrary), [true, false], "a clear may remove it: sent again");
    const saved = notebookOutputs(kernel.sink.events);
    assert.deepEqual(saved.map((o) => String(o.data["text/html"]).includes("data-cluelab-plotly=")), [true, false]);
  });

  it("a live figure redraws in place, throttled, never re-sending plotly.js", async () => {
    const fig = plotly({ data: [{ x: [], y: [], name: "loss", mode: "lines" }] }).show();
    assert.ok(fig.id);
    assert.deepEqual(kernel.sink.displays.map(isLibrary), [true, false]);
    const start = performance.now();
    for (let step = 0; step < 500; step++) fig.extend(0, { x: step, y: 1 / (step + 1) });
    const allowed = 1 + Math.floor((performance.now() - start) / (1000 / FIGURE_REDRAWS_PER_SECOND));
    const during = kernel.sink.displays.length - 2;
    assert.ok(during >= 1 && during <= allowed, `${during} redraws for 500 extends (at most ${allowed})`);
    assert.ok(kernel.sink.held.length >= 1, "the trailing redraw holds the cell open");
    await kernel.sink.settle();
    const updates = kernel.sink.displays.filter((d) => d.update);
    assert.ok(updates.length - during <= 1, "at most one trailing redraw, of the last state");
    assert.ok(updates.every((u) => u.id === fig.id && !isLibrary(u)));
    const last = updates.at(-1)!.bundle["application/vnd.plotly.v1+json"] as { data: Array<{ x: number[] }> };
    assert.equal(last.data[0]!.x.length, 500);
    assert.match(updates.at(-1)!.bundle["text/plain"], /scatter "loss" \(500 points\)/);
    assert.equal(FIGURE_REDRAWS_PER_SECOND, 4);

    fig.update((f) => (f.layout = { title: { text: "done" } }));
    fig.flush();
    assert.match(kernel.sink.displays.at(-1)!.bundle["text/plain"], /"done"/);
    const saved = notebookOutputs(kernel.sink.events);
    assert.equal(saved.length, 2, "the library output and the figure");
    assert.ok(isLibrary({ bundle: saved[0]!.data }));
  });
});
