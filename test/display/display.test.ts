import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import {
  display,
  getDisplaySink,
  isDisplayable,
  JUPYTER_DISPLAY,
  setDisplaySink,
  toMimeBundle,
  type DisplayRequest,
} from "../../lib/display/index.js";

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

  it("display goes to the installed sink, with id and metadata", async () => {
    const seen: DisplayRequest[] = [];
    setDisplaySink({ display: (r) => seen.push(r), clearOutput: () => {}, hold: () => {} });
    assert.ok(getDisplaySink());
    await display(7, { id: "x", metadata: { a: 1 } });
    assert.deepEqual(seen, [{ bundle: { "text/plain": "7" }, metadata: { a: 1 }, id: "x", update: undefined }]);
  });

  it("without a sink (outside a kernel) display prints text/plain", async () => {
    const written: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (written.push(chunk), true)) as typeof process.stdout.write;
    try {
      await display({ b: 1 });
    } finally {
      process.stdout.write = original;
    }
    assert.deepEqual(written, ["{ b: 1 }\n"]);
  });
});
