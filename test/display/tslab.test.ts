import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { afterEach, beforeEach, describe, it } from "node:test";
import * as tslab from "../../lib/display/tslab.js";
import { runModule } from "../helpers/run.js";
import { FakeKernel } from "./recording.js";

// tslab 1.0.22's public API as its documentation and declaration file (dist/public.d.ts) give it.
// The checks below fail to compile if a signature drifts.
interface TslabDisplay {
  javascript(s: string): void;
  html(s: string): void;
  markdown(s: string): void;
  latex(s: string): void;
  svg(s: string): void;
  png(b: Uint8Array): void;
  jpeg(b: Uint8Array): void;
  gif(b: Uint8Array): void;
  pdf(b: Uint8Array): void;
  text(s: string): void;
  raw(contentType: string, b: string | Uint8Array): unknown;
}
interface TslabModule {
  versions: { tslab: string; typescript: string; node: string };
  display: TslabDisplay;
  newDisplay(): TslabDisplay;
}
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type SameParameters = {
  [K in keyof TslabDisplay]: Equal<Parameters<TslabDisplay[K]>, Parameters<tslab.Display[K]>>;
};
const sameParameters: SameParameters = {
  javascript: true, html: true, markdown: true, latex: true, svg: true, png: true, jpeg: true, gif: true, pdf: true, text: true, raw: true,
};
const noExtraMethods: Equal<keyof tslab.Display, keyof TslabDisplay> = true;
const asTslab: TslabModule = tslab; // a tslab notebook's uses type-check against this module

describe("tslab compatibility", () => {
  let kernel: FakeKernel;
  beforeEach(() => (kernel = new FakeKernel()));
  afterEach(() => kernel.uninstall());

  it("has tslab's API shape", () => {
    assert.ok(Object.values(sameParameters).every(Boolean) && noExtraMethods);
    for (const name of ["display", "newDisplay", "versions"]) assert.ok(name in tslab, name);
    const methods = Object.keys(sameParameters);
    for (const m of methods) assert.equal(typeof (asTslab.display as unknown as Record<string, unknown>)[m], "function", m);
    for (const m of methods) assert.equal(typeof (asTslab.newDisplay() as unknown as Record<string, unknown>)[m], "function", m);
  });

  it("versions: tslab's fields, filled from this installation", () => {
    const require = createRequire(import.meta.url);
    assert.equal(tslab.versions.tslab, "1.0.22");
    assert.equal(tslab.versions.node, process.version);
    assert.equal(tslab.versions.typescript, (require("typescript/package.json") as { version: string }).version);
    assert.equal(tslab.versions.cluelab, (require("../../../package.json") as { version: string }).version);
  });

  it("display.* shows one new output each, with tslab's MIME types (bytes as base64) and a text/plain", () => {
    tslab.display.html("<b>bold</b>");
    tslab.display.markdown("*md*");
    tslab.display.latex("$x^2$");
    tslab.display.svg("<svg/>");
    tslab.display.png(new Uint8Array([1, 2, 3]));
    tslab.display.jpeg(Buffer.from([4]));
    tslab.display.gif(new Uint8Array([5]));
    tslab.display.pdf(new Uint8Array([6]));
    tslab.display.text("plain");
    tslab.display.javascript("console.log(1)");
    tslab.display.raw("application/x-thing", "data");
    assert.deepEqual(
      kernel.sink.displays.map((d) => [d.bundle, d.metadata, d.id, d.update]),
      [
        [{ "text/plain": "bold", "text/html": "<b>bold</b>" }, {}, undefined, undefined],
        [{ "text/plain": "*md*", "text/markdown": "*md*" }, {}, undefined, undefined],
        [{ "text/plain": "$x^2$", "text/latex": "$x^2$" }, {}, undefined, undefined],
        [{ "text/plain": "<svg/>", "image/svg+xml": "<svg/>" }, {}, undefined, undefined],
        [{ "text/plain": "[image/png, 3 bytes]", "image/png": "AQID" }, {}, undefined, undefined],
        [{ "text/plain": "[image/jpeg, 1 bytes]", "image/jpeg": "BA==" }, {}, undefined, undefined],
        [{ "text/plain": "[image/gif, 1 bytes]", "image/gif": "BQ==" }, {}, undefined, undefined],
        [{ "text/plain": "[application/pdf, 1 bytes]", "application/pdf": "Bg==" }, {}, undefined, undefined],
        [{ "text/plain": "plain" }, {}, undefined, undefined],
        [{ "text/plain": "[JavaScript]", "text/javascript": "console.log(1)", "application/javascript": "console.log(1)" }, {}, undefined, undefined],
        [{ "text/plain": "[application/x-thing]", "application/x-thing": "data" }, {}, undefined, undefined],
      ],
    );
  });

  it("newDisplay(): the first call shows an output, later calls overwrite it", () => {
    const a = tslab.newDisplay();
    const b = tslab.newDisplay();
    a.text("1");
    a.html("<i>2</i>");
    b.text("other");
    a.text("3");
    const [first, second, other, third] = kernel.sink.displays;
    assert.match(first!.id!, /^[0-9a-f]{16}$/);
    assert.deepEqual([first!.update, second!.update, third!.update], [false, true, true]);
    assert.equal(second!.id, first!.id);
    assert.equal(third!.bundle["text/plain"], "3");
    assert.notEqual(other!.id, first!.id);
  });

  it("bad arguments are clear errors", () => {
    assert.throws(() => tslab.display.raw("html", "x"), /contentType must be a MIME type like "text\/html"/);
    assert.throws(() => tslab.display.raw("text/html", 3 as never), /data must be a string or a Uint8Array/);
    assert.throws(() => tslab.display.html(undefined as never), /tslab.display.html\(\): expected a string/);
  });
});

describe("tslab outside a kernel", () => {
  it("prints text instead of throwing", async () => {
    const r = await runModule(`import * as tslab from "./dist/lib/display/tslab.js"; tslab.display.html("<p>hello</p>"); tslab.newDisplay().text("t");`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello\nt\n");
  });
});
