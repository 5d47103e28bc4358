import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { fashionMnist, mnist, FASHION_MNIST_CLASSES } from "../../lib/data/index.js";
import { readIdx } from "../../lib/data/formats/idx.js";
import { stats } from "../../lib/data/transforms/index.js";
import { idxBytes, pixel, tempDir, writeIdxSet } from "./fixtures.js";

describe("IDX reader", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir("idx")));
  after(() => cleanup());

  it("streams plain and gzipped files into a shared buffer of exactly the payload", async () => {
    const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
    await writeFile(join(dir, "a.idx"), idxBytes([2, 3, 4], data));
    await writeFile(join(dir, "a.idx.gz"), gzipSync(idxBytes([2, 3, 4], data)));
    for (const name of ["a.idx", "a.idx.gz"]) {
      const read = await readIdx(join(dir, name));
      assert.deepEqual(read.dims, [2, 3, 4]);
      assert.deepEqual(Array.from(read.data), Array.from(data));
      assert.ok(read.data.buffer instanceof SharedArrayBuffer);
      assert.equal(read.data.buffer.byteLength, data.length);
    }
  });

  it("rejects a truncated file, extra bytes, a wrong magic number, a wrong type and corrupt gzip, naming the file", async () => {
    const good = idxBytes([5], Uint8Array.from([1, 2, 3, 4, 5]));
    const cases: Array<[string, Buffer, RegExp]> = [
      ["truncated", good.subarray(0, good.length - 2), /truncated\.idx: IDX payload has 3 bytes but the header's dimensions 5 need 5 \(truncated or corrupt file\)/],
      ["truncated-gz", gzipSync(good.subarray(0, good.length - 2)), /truncated-gz\.idx: IDX payload has 3 bytes/],
      ["longer", Buffer.concat([good, Buffer.from([9])]), /longer\.idx: IDX payload is longer than the header's dimensions 5 allow/],
      ["magic", Buffer.from([1, 2, 8, 1, 0, 0, 0, 0]), /magic\.idx: not an IDX file \(expected the magic bytes 00 00 <type> <rank>\)/],
      ["type", Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 0]), /type\.idx: IDX element type 0xd is not supported \(expected 0x08/],
      ["header", Buffer.from([0, 0, 8, 3, 0, 0]), /header\.idx: truncated IDX header/],
      ["corrupt", Buffer.concat([gzipSync(good).subarray(0, 12), Buffer.alloc(8)]), /corrupt\.idx: corrupt gzip stream/],
      ["cut-gz", gzipSync(good).subarray(0, 20), /cut-gz\.idx: corrupt gzip stream \(unexpected end of file\)/],
    ];
    for (const [name, bytes, message] of cases) {
      await writeFile(join(dir, `${name}.idx`), bytes);
      await assert.rejects(readIdx(join(dir, `${name}.idx`)), message, name);
    }
    await assert.rejects(readIdx(join(dir, "absent.idx")), /absent\.idx: cannot open \(ENOENT\)/);
  });
});

describe("MNIST-family datasets from IDX files", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir("mnist")));
  after(() => cleanup());

  it("reads generated files (gzipped and not): length, classes, exact pixels in [0, 1], labels", async () => {
    for (const gzip of [false, true]) {
      const root = join(dir, gzip ? "gz" : "plain");
      await writeIdxSet(root, { train: 12, test: 5 }, { gzip, labels: (i) => (i * 3) % 10 });
      const train = await fashionMnist({ split: "train", root });
      assert.equal(train.length, 12);
      assert.deepEqual(train.shape, [28, 28, 1]);
      assert.deepEqual(train.classes, FASHION_MNIST_CLASSES);
      assert.equal(train.origin, root);
      const { image, label } = await train.get(7);
      assert.equal(label, 1);
      assert.equal(image.data.length, 784);
      for (const [r, c] of [[0, 0], [5, 17], [27, 27]] as const) assert.equal(image.data[r * 28 + c], Math.fround(pixel(7, r, c, 0) / 255));
      const test = await mnist({ split: "test", root });
      assert.equal(test.length, 5);
      assert.equal(test.name, "MNIST (test)");
      assert.deepEqual(Array.from(test.labels), [0, 3, 6, 9, 2]);
    }
  });

  it("rejects a label out of range and mismatched counts, naming the file", async () => {
    const root = join(dir, "bad-label");
    await writeIdxSet(root, { train: 4, test: 2 }, { labels: (i) => (i === 2 ? 10 : 0) });
    await assert.rejects(fashionMnist({ root }), /train-labels-idx1-ubyte: label 10 of sample 2 is out of range \(expected 0–9\)/);
    const mismatch = join(dir, "mismatch");
    await writeIdxSet(mismatch, { train: 4, test: 2 });
    await writeFile(join(mismatch, "t10k-labels-idx1-ubyte"), idxBytes([3], Uint8Array.from([0, 1, 2])));
    await assert.rejects(fashionMnist({ split: "test", root: mismatch }), /t10k-labels-idx1-ubyte: expected 2 labels to match the images, found dimensions 3/);
    await assert.rejects(fashionMnist({ split: "valid" as "test", root }), /split must be "train" or "test", got "valid"/);
  });

  it("looks in root, else $CLUELAB_DATA, then system locations, then the XDG cache; errors list where it looked", async () => {
    const saved = { data: process.env.CLUELAB_DATA, xdg: process.env.XDG_CACHE_HOME };
    try {
      const env = join(dir, "env");
      const xdg = join(dir, "xdg");
      await writeIdxSet(join(env, "fashion-mnist"), { train: 3, test: 1 });
      await writeIdxSet(join(xdg, "cluelab", "fashion-mnist"), { train: 2, test: 1 });
      await writeIdxSet(join(xdg, "cluelab", "mnist"), { train: 2, test: 1 });
      process.env.XDG_CACHE_HOME = xdg;

      process.env.CLUELAB_DATA = env;
      assert.equal((await fashionMnist()).origin, join(env, "fashion-mnist"), "$CLUELAB_DATA comes first");
      delete process.env.CLUELAB_DATA;
      assert.equal((await fashionMnist()).origin, "/usr/share/datasets/fashion-mnist", "then Debian's package");
      assert.equal((await mnist()).origin, join(xdg, "cluelab", "mnist"), "then the XDG cache");

      process.env.XDG_CACHE_HOME = join(dir, "nowhere");
      await assert.rejects(
        mnist(),
        (e: Error) =>
          /MNIST \(train\) was not found: expected train-images-idx3-ubyte\[\.gz\] and train-labels-idx1-ubyte\[\.gz\]/.test(e.message) &&
          e.message.includes(join(dir, "nowhere", "cluelab", "mnist")) &&
          /Run `cluelab data download mnist`/.test(e.message),
      );
      await assert.rejects(fashionMnist({ root: join(dir, "missing") }), /Looked in .*missing\. Check the path/);
    } finally {
      for (const [k, v] of [["CLUELAB_DATA", saved.data], ["XDG_CACHE_HOME", saved.xdg]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe("Debian's real Fashion-MNIST", () => {
  it("has 60,000 + 10,000 images of 28×28×1 and 10 balanced classes; the normalisation stats match", async () => {
    const root = "/usr/share/datasets/fashion-mnist";
    for (const [split, count] of [["train", 60000], ["test", 10000]] as const) {
      const ds = await fashionMnist({ split, root });
      assert.equal(ds.length, count);
      assert.deepEqual(ds.shape, [28, 28, 1]);
      assert.deepEqual(ds.classCounts(), new Array(10).fill(count / 10));
      const { image, label } = await ds.get(count - 1);
      assert.ok(label >= 0 && label < 10);
      assert.ok(image.data.every((v) => v >= 0 && v <= 1));
    }
    // The training split's pixel mean and standard deviation, against the constants in `stats`.
    const { x, y } = await (await fashionMnist({ split: "train", root })).toTensors();
    const values = await x.data();
    x.dispose();
    y.dispose();
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < values.length; i++) {
      sum += values[i]!;
      sq += values[i]! * values[i]!;
    }
    const mean = sum / values.length;
    const std = Math.sqrt(sq / values.length - mean * mean);
    assert.ok(Math.abs(mean - stats.fashionMnist.mean[0]) < 5e-4, `mean ${mean}`);
    assert.ok(Math.abs(std - stats.fashionMnist.std[0]) < 5e-4, `std ${std}`);
  });
});
