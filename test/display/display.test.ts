import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import {
  clearOutput,
  display,
  DISPLAY_METADATA,
  getDisplaySink,
  isDisplayable,
  isNoResult,
  NO_RESULT,
  progress,
  JUPYTER_DISPLAY,
  setDisplaySink,
  toDisplayData,
  toMimeBundle,
  updateDisplay,
} from "../../lib/display/index.js";
import { runModule } from "../helpers/run.js";
import { FakeKernel, notebookOutputs } from "./recording.js";

const later = <T>(value: T, ms = 20) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe("display protocol", () => {
  afterEach(() => setDisplaySink(undefined));

  it("uses Deno's symbol, so objects made for Deno's kernel display here too", () => {
    assert.equal(JUPYTER_DISPLAY, Symbol.for("Jupyter.display"));
    assert.ok(isDisplayable({ [Symbol.for("Jupyter.display")]: () => ({}) }));
    assert.ok(!isDisplayable({ display: () => ({}) }));
    assert.ok(!isDisplayable(null));
  });

  it("a displayable renders itself and gets a text/plain fallback", async () => {
    const obj = { [JUPYTER_DISPLAY]: async () => ({ "text/html": "<b>hi</b>" }), answer: 42 };
    const bundle = await toMimeBundle(obj);
    assert.equal(bundle["text/html"], "<b>hi</b>");
    assert.match(bundle["text/plain"], /answer: 42/);
  });

  it("plain values become Node-style inspection without ANSI colours", async () => {
    assert.deepEqual(await toMimeBundle("ab"), { "text/plain": "'ab'" });
    assert.deepEqual(await toMimeBundle([1, { a: 2 }]), { "text/plain": "[ 1, { a: 2 } ]" });
    assert.doesNotMatch((await toMimeBundle(new Map([[1, 2]])))["text/plain"], /\u001b\[/);
  });

  it("a display method returning a non-object is a clear error", async () => {
    await assert.rejects(toMimeBundle({ [JUPYTER_DISPLAY]: () => "nope" as never }), /must return an object of MIME type → data/);
  });

  it("metadata comes from Symbol.for('cluelab.display.metadata')", async () => {
    assert.equal(DISPLAY_METADATA, Symbol.for("cluelab.display.metadata"));
    const obj = { [JUPYTER_DISPLAY]: () => ({ "image/png": "AAAA" }), [DISPLAY_METADATA]: () => ({ "image/png": { width: 10 } }) };
    const data = await toDisplayData(obj);
    assert.deepEqual(data.metadata, { "image/png": { width: 10 } });
    await assert.rejects(toDisplayData({ ...obj, [DISPLAY_METADATA]: () => 3 }), /must return an object of MIME type → metadata/);
  });
});

describe("display() in a kernel", () => {
  let kernel: FakeKernel;
  beforeEach(() => (kernel = new FakeKernel()));
  afterEach(() => kernel.uninstall());

  it("sends at once, with an id (generated or given) and metadata, and returns the handle", () => {
    assert.ok(getDisplaySink());
    const h = display(7, { id: "x", metadata: { "text/plain": { a: 1 } } });
    assert.equal(h.id, "x");
    assert.deepEqual(kernel.sink.displays, [{ bundle: { "text/plain": "7" }, metadata: { "text/plain": { a: 1 } }, id: "x" }]);
    const g = display("y");
    assert.match(g.id, /^[0-9a-f-]{36}$/);
    assert.equal(kernel.sink.displays[1]!.id, g.id);
    assert.notEqual(g.id, display("z").id);
  });

  it("marks its handle, and a progress bar, as standing for an output already shown (no execute_result)", () => {
    assert.equal(NO_RESULT, Symbol.for("cluelab.display.noResult"));
    const h = display(1, { id: "marked" });
    assert.ok(isNoResult(h));
    assert.deepEqual(Object.keys(h), ["id", "update", "clear"], "the marker is not enumerable");
    assert.equal(JSON.stringify(h), '{"id":"marked"}');
    assert.ok(isNoResult(progress(3, { widget: false })));
    assert.ok(!isNoResult({ id: "x" }) && !isNoResult(null) && !isNoResult(7));
  });

  it("handle.update and handle.clear replace the output in place; updateDisplay works by id", () => {
    const h = display(1);
    h.update(2);
    updateDisplay(h.id, 3);
    h.clear();
    const [first, ...rest] = kernel.sink.displays;
    assert.equal(first!.update, undefined);
    assert.deepEqual(
      rest.map((r) => [r.id, r.update, r.bundle["text/plain"]]),
      [
        [h.id, true, "2"],
        [h.id, true, "3"],
        [h.id, true, ""],
      ],
    );
    assert.deepEqual(notebookOutputs(kernel.sink.events), [{ output_type: "display_data", data: { "text/plain": "" }, metadata: {} }]);
  });

  it("a reused id adds an output and updates every output with that id", () => {
    display("a", { id: "shared" });
    display("b");
    display("c", { id: "shared" });
    assert.deepEqual(
      kernel.sink.displays.map((r) => [r.id === "shared" ? "shared" : "other", r.update ?? false, r.bundle["text/plain"]]),
      [
        ["shared", false, "'a'"],
        ["other", false, "'b'"],
        ["shared", false, "'c'"],
        ["shared", true, "'c'"],
      ],
    );
    assert.deepEqual(notebookOutputs(kernel.sink.events).map((o) => o.data["text/plain"]), ["'c'", "'b'", "'c'"]);
  });

  it("the handle's metadata applies to its updates too", () => {
    const h = display(1, { metadata: { x: 1 } });
    h.update(2);
    assert.deepEqual(kernel.sink.displays[1]!.metadata, { x: 1 });
  });

  it("asynchronous renders are held, and outputs keep the order of the calls", async () => {
    const slow = { [JUPYTER_DISPLAY]: () => later({ "text/plain": "slow" }, 30) };
    const h = display(slow);
    display("fast"); // must wait for "slow"
    clearOutput({ wait: true });
    h.update({ [JUPYTER_DISPLAY]: () => later({ "text/plain": "slow 2" }, 5) });
    display("last");
    assert.equal(kernel.sink.events.length, 0, "nothing may overtake the pending render");
    assert.ok(kernel.sink.held.length >= 1);
    const results = await kernel.sink.settle();
    assert.ok(results.every((r) => r.status === "fulfilled"));
    assert.deepEqual(
      kernel.sink.events.map((e) =>
        e.kind === "clear" ? `clear(wait=${e.wait})` : e.kind === "display" ? `${e.request.update ? "update" : "display"} ${e.request.bundle["text/plain"]}` : e.kind,
      ),
      ["display slow", "display 'fast'", "clear(wait=true)", "update slow 2", "display 'last'"],
    );
  });

  it("a held render lands before its promise settles", async () => {
    display({ [JUPYTER_DISPLAY]: () => later({ "text/plain": "x" }) });
    const [held] = kernel.sink.held;
    await held;
    assert.equal(kernel.sink.displays.length, 1);
  });

  it("a failing asynchronous render rejects the held promise (the kernel reports it) and later outputs still go", async () => {
    display({ [JUPYTER_DISPLAY]: () => Promise.reject(new Error("render broke")) });
    display("after");
    const results = await kernel.sink.settle();
    assert.ok(results.some((r) => r.status === "rejected" && /render broke/.test(String(r.reason))));
    assert.deepEqual(kernel.sink.displays.map((r) => r.bundle["text/plain"]), ["'after'"]);
  });

  it("a failing synchronous render throws in the caller", () => {
    assert.throws(() => display({ [JUPYTER_DISPLAY]: () => 5 as never }), /must return an object/);
    assert.equal(kernel.sink.displays.length, 0);
  });

  it("clearOutput passes wait through", () => {
    clearOutput();
    clearOutput({ wait: true });
    assert.deepEqual(kernel.sink.events, [
      { kind: "clear", wait: false },
      { kind: "clear", wait: true },
    ]);
  });
});

describe("display() outside a kernel", () => {
  it("prints text/plain on stdout, updates print again, clears print nothing", async () => {
    const r = await runModule(
      `import { display, clearOutput, JUPYTER_DISPLAY } from "./dist/lib/display/index.js";
       const h = display({ b: 1 });
       h.update({ [JUPYTER_DISPLAY]: async () => ({ "text/html": "<i>x</i>", "text/plain": "x" }) });
       h.clear();
       clearOutput();`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "{ b: 1 }\nx\n");
  });

  it("every displayable degrades to its text/plain", async () => {
    const r = await runModule(
      `import { display, html, image, table, plotly, svg } from "./dist/lib/display/index.js";
       display(html("<p>a <b>b</b></p>"));
       display(image([0, 1, 1, 0], { width: 2, height: 2 }));
       display(table([{ k: 1 }]));
       display(plotly({ data: [{ y: [1, 2, 3], name: "acc" }], layout: { title: "t" } }));
       display(svg('<svg width="3" height="4"></svg>'));`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'a b\n[image 2×2, gray]\nk\n-\n1\n[Plotly figure "t": 1 trace — scatter "acc" (3 points)]\n[SVG image 3×4]\n');
  });
});
