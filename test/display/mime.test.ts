import assert from "node:assert/strict";
import { inspect } from "node:util";
import { afterEach, describe, it } from "node:test";
import { PNG } from "pngjs";
import { display, html, image, imageGrid, json, md, png, svg, table, toDisplayData } from "../../lib/display/index.js";
import { FakeKernel } from "./recording.js";

/** A real 2×1 PNG (red, blue) written by an independent encoder. */
function pngjsFile(): Uint8Array {
  const p = new PNG({ width: 2, height: 1 });
  p.data.set([255, 0, 0, 255, 0, 0, 255, 255]);
  return new Uint8Array(PNG.sync.write(p));
}

describe("MIME displayables", () => {
  let kernel: FakeKernel | undefined;
  afterEach(() => kernel?.uninstall());

  it("html: text/html, with its text as text/plain", async () => {
    const { bundle } = await toDisplayData(html("<h3>Loss</h3><p>0.25 &amp; falling<br>fast</p><script>x()</script>"));
    assert.equal(bundle["text/html"], "<h3>Loss</h3><p>0.25 &amp; falling<br>fast</p><script>x()</script>");
    assert.equal(bundle["text/plain"], "Loss\n0.25 & falling\nfast");
    assert.throws(() => html(3 as never), /html\(\): expected a string, got 3/);
  });

  it("md: text/markdown with the source as text/plain", async () => {
    assert.deepEqual((await toDisplayData(md("# Title"))).bundle, { "text/markdown": "# Title", "text/plain": "# Title" });
  });

  it("svg: image/svg+xml, with its size in text/plain; non-SVG is an error", async () => {
    const s = '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><rect width="20" height="10"/></svg>';
    const { bundle } = await toDisplayData(svg(s));
    assert.equal(bundle["image/svg+xml"], s);
    assert.equal(bundle["text/plain"], "[SVG image 20×10]");
    assert.throws(() => svg("<div/>"), /expected SVG markup/);
  });

  it("png: bytes or base64, size from the header, display size as metadata", async () => {
    const bytes = pngjsFile();
    const a = await toDisplayData(png(bytes, { width: 200 }));
    const b = await toDisplayData(png(Buffer.from(bytes).toString("base64")));
    assert.equal(a.bundle["image/png"], Buffer.from(bytes).toString("base64"));
    assert.equal(a.bundle["text/plain"], "[PNG image 2×1]");
    assert.deepEqual(a.metadata, { "image/png": { width: 200 } });
    assert.deepEqual(b.bundle, a.bundle);
    assert.deepEqual(b.metadata, {});
    assert.throws(() => png(new Uint8Array([1, 2, 3])), /not a PNG file .* use image\(pixels/);
    assert.throws(() => png("not base64!"), /base64 of a PNG/);
    assert.throws(() => png(bytes, { height: -1 }), /height must be a positive number/);
  });

  it("png metadata travels with display()", () => {
    kernel = new FakeKernel();
    display(png(pngjsFile(), { width: 40, height: 20 }));
    assert.deepEqual(kernel.sink.displays[0]!.metadata, { "image/png": { width: 40, height: 20 } });
  });

  it("json: application/json as plain JSON (typed arrays become arrays), indented text/plain", async () => {
    const { bundle } = await toDisplayData(json({ a: new Float32Array([1, 2]), b: 3n, c: NaN }));
    assert.deepEqual(bundle["application/json"], { a: [1, 2], b: 3, c: null });
    assert.equal(bundle["text/plain"], JSON.stringify({ a: [1, 2], b: 3, c: null }, null, 2));
    const cyclic: Record<string, unknown> = {};
    cyclic["self"] = cyclic;
    assert.throws(() => json(cyclic), /json\(\) cannot be sent as JSON/);
  });

  it("console.log of a displayable shows its text/plain", () => {
    assert.equal(inspect(md("**hi**")), "**hi**");
    assert.equal(String(html("<b>x</b>")), "x");
  });
});

describe("table", () => {
  it("object rows: columns in order of appearance, numbers right-aligned, HTML escaped", async () => {
    const { bundle } = await toDisplayData(
      table([
        { model: "CLUENet-T", params: 5.5e6, top1: 0.7791234 },
        { model: "<CoC>", top1: 0.764, note: "baseline" },
      ]),
    );
    assert.equal(
      bundle["text/plain"],
      ["model       params      top1  note", "---------  -------  --------  --------", "CLUENet-T  5500000  0.779123", "<CoC>                  0.764  baseline"].join("\n"),
    );
    const h = bundle["text/html"] as string;
    assert.match(h, /^<table><thead><tr><th style="text-align:left">model<\/th><th style="text-align:right">params<\/th>/);
    assert.match(h, /<td style="text-align:left">&lt;CoC&gt;<\/td><td style="text-align:right"><\/td><td style="text-align:right">0.764<\/td>/);
  });

  it("array rows with headers, chosen columns, and bad input", async () => {
    const { bundle } = await toDisplayData(table([[1, "a"], [22, "b"]], { columns: ["n", "s"] }));
    assert.equal(bundle["text/plain"], " n  s\n--  -\n 1  a\n22  b");
    const picked = await toDisplayData(table([{ a: 1, b: 2 }], { columns: ["b"] }));
    assert.equal(picked.bundle["text/plain"], "b\n-\n2");
    assert.throws(() => table([1 as never]), /row 0 is 1, not an object or an array/);
    assert.throws(() => table("x" as never), /expected an array of rows/);
  });
});

describe("image and imageGrid", () => {
  function decode(b64: string): PNG {
    return PNG.sync.read(Buffer.from(b64, "base64"));
  }

  it("the PNG decodes back to the same pixels: RGB 0–255, gray [0,1], RGBA", async () => {
    const rgb = new Uint8Array(3 * 2 * 3).map((_, i) => (i * 37) % 256);
    const out = decode((await toDisplayData(image(rgb, { width: 3, height: 2 }))).bundle["image/png"] as string);
    assert.equal(out.width, 3);
    assert.equal(out.height, 2);
    for (let p = 0; p < 6; p++) assert.deepEqual([...out.data.subarray(p * 4, p * 4 + 3)], [...rgb.subarray(p * 3, p * 3 + 3)]);

    const gray = new Float32Array([0, 0.25, 0.5, 1]);
    const g = decode((await toDisplayData(image(gray, { width: 2, height: 2, channels: 1 }))).bundle["image/png"] as string);
    assert.deepEqual([0, 1, 2, 3].map((p) => g.data[p * 4]), [0, 64, 128, 255]);

    const rgba = [10, 20, 30, 40, 50, 60, 70, 80];
    const a = decode((await toDisplayData(image(rgba, { width: 2, height: 1 }))).bundle["image/png"] as string);
    assert.deepEqual([...a.data], rgba);
  });

  it("scale enlarges by nearest neighbour; range maps values linearly", async () => {
    const img = image([0, 1, 2, 3], { width: 2, height: 2, channels: 1, scale: 3, range: [0, 3] });
    assert.equal(img.width, 6);
    const out = decode(img.bundle["image/png"] as string);
    const at = (x: number, y: number) => out.data[(y * 6 + x) * 4];
    assert.deepEqual([at(0, 0), at(2, 2), at(3, 0), at(5, 2), at(0, 3), at(5, 5)], [0, 0, 85, 85, 170, 255]);
    assert.equal(img.bundle["text/plain"], "[image 2×2, gray]");
  });

  it("bad pixels get errors that say what to do", () => {
    assert.throws(() => image([0, 1, 2], { width: 2, height: 2 }), /3 values do not fit 2×2 pixels/);
    assert.throws(() => image([0, 1, 2, 3], { width: 2, height: 1, channels: 1 }), /expected 2×1×1 = 2 values, got 4/);
    assert.throws(() => image([-1, 300], { width: 2, height: 1 }), /values span \[-1, 300\].*pass range: \[-1, 300\]/);
    assert.throws(() => image([0, NaN], { width: 2, height: 1 }), /value 1 is NaN/);
    assert.throws(() => image([0, 1], { width: 2, height: 1, scale: 1.5 }), /scale must be an integer/);
    assert.throws(() => image([0, 1], { width: 0, height: 1 }), /width must be a positive integer/);
  });

  it("imageGrid lays images out in rows with white gaps, sharing one value range", async () => {
    const tiles = [0, 1, 2].map((k) => new Float32Array(4).fill(k / 4)); // 2×2 gray tiles, values 0, .25, .5
    const grid = imageGrid(tiles, { width: 2, height: 2, channels: 1, columns: 2, gap: 1 });
    const out = decode(grid.bundle["image/png"] as string);
    assert.deepEqual([out.width, out.height], [5, 5]);
    const at = (x: number, y: number) => out.data[(y * 5 + x) * 4];
    assert.deepEqual([at(0, 0), at(3, 1), at(1, 3), at(2, 0), at(3, 3)], [0, 64, 128, 255, 255]);
    assert.equal(grid.bundle["text/plain"], "[image grid: 3 images 2×2, 2 per row]");
    assert.equal(grid.bundle["text/html"], undefined);
  });

  it("imageGrid with labels: an HTML grid of captioned tiles, with the PNG as fallback; mixed channels widen", async () => {
    const grid = imageGrid(
      [
        { pixels: [255, 0, 0], width: 1, height: 1 },
        { pixels: [0], width: 1, height: 1, channels: 1 },
      ],
      { labels: ["red <1>", "black"], scale: 4 },
    );
    const h = grid.bundle["text/html"] as string;
    assert.equal(h.match(/<img src="data:image\/png;base64,/g)?.length, 2);
    assert.match(h, /width="4" height="4"/);
    assert.match(h, /<figcaption[^>]*>red &lt;1&gt;<\/figcaption>/);
    const out = decode(grid.bundle["image/png"] as string);
    assert.deepEqual([out.width, out.height], [10, 4]);
    assert.deepEqual([...out.data.subarray(0, 3)], [255, 0, 0]);
    assert.deepEqual([...out.data.subarray((9) * 4, 9 * 4 + 3)], [0, 0, 0]);
    assert.throws(() => imageGrid([[0]], { width: 1, height: 1, labels: ["a", "b"] }), /one string per image \(1\)/);
    assert.throws(() => imageGrid([[0]]), /bare pixel array: pass width and height/);
    assert.throws(() => imageGrid([]), /non-empty array/);
  });
});
