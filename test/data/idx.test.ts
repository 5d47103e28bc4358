import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { loadFashionMnistArrays } from "../../lib/data/fashion-mnist.js";
import { readIdx } from "../../lib/data/idx.js";

/** Bytes of an IDX file of unsigned bytes, laid out as the format specifies (big-endian dims). */
function idxBytes(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt8(0x08, 2);
  header.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

describe("IDX reader", () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), "cluelab-idx-"))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it("reads plain and gzipped files", async () => {
    const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
    await writeFile(join(dir, "a.idx"), idxBytes([2, 3, 4], data));
    await writeFile(join(dir, "a.idx.gz"), gzipSync(idxBytes([2, 3, 4], data)));
    for (const name of ["a.idx", "a.idx.gz"]) {
      const read = await readIdx(join(dir, name));
      assert.deepEqual(read.dims, [2, 3, 4]);
      assert.deepEqual(Array.from(read.data), Array.from(data));
    }
  });

  it("rejects a truncated file, a wrong magic number, a wrong type and corrupt gzip, naming the file", async () => {
    const good = idxBytes([5], Uint8Array.from([1, 2, 3, 4, 5]));
    const cases: Array<[string, Buffer, RegExp]> = [
      ["truncated", good.subarray(0, good.length - 2), /truncated\.idx: IDX payload has 3 bytes but the header's dimensions 5 need 5/],
      ["magic", Buffer.from([1, 2, 8, 1, 0, 0, 0, 0]), /magic\.idx: not an IDX file/],
      ["type", Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 0]), /type\.idx: IDX element type 0xd is not supported/],
      ["header", Buffer.from([0, 0, 8, 3, 0, 0]), /header\.idx: truncated IDX header/],
      ["corrupt", Buffer.concat([gzipSync(good).subarray(0, 12), Buffer.alloc(8)]), /corrupt\.idx: corrupt gzip stream/],
    ];
    for (const [name, bytes, message] of cases) {
      await writeFile(join(dir, `${name}.idx`), bytes);
      await assert.rejects(readIdx(join(dir, `${name}.idx`)), message);
    }
  });

  it("reads Debian's real Fashion-MNIST: 60,000 + 10,000 images of 28×28, 10 balanced classes", async () => {
    for (const [split, count] of [["train", 60000], ["test", 10000]] as const) {
      const { images, labels, count: n } = await loadFashionMnistArrays(split);
      assert.equal(n, count);
      assert.equal(images.length, count * 28 * 28);
      const histogram = new Array<number>(10).fill(0);
      labels.forEach((l) => histogram[l]!++);
      assert.deepEqual(histogram, new Array(10).fill(count / 10));
    }
  });
});
