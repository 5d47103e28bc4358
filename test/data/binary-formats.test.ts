import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { cifar10, cifar100, stl10, CIFAR100_COARSE_CLASSES, CIFAR10_CLASSES, STL10_CLASSES } from "../../lib/data/index.js";
import { cifarRecord, pixel, stlRecord, tempDir } from "./fixtures.js";

/** Checks every pixel of `image` (HWC floats) against `pixel(sample, …)`. */
function assertPixels(image: { data: Float32Array; height: number; width: number; channels: number }, sample: number): void {
  const { data, height, width, channels } = image;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      for (let ch = 0; ch < channels; ch++) {
        const got = Math.round(data[(r * width + c) * channels + ch]! * 255);
        if (got !== pixel(sample, r, c, ch)) assert.fail(`sample ${sample} pixel (${r}, ${c}, ${ch}) is ${got}, expected ${pixel(sample, r, c, ch)}`);
      }
    }
  }
}

describe("CIFAR binary versions", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir("cifar")));
  after(() => cleanup());

  it("CIFAR-10: <label><R plane><G plane><B plane> records over five training files become HWC images", async () => {
    const root = join(dir, "c10", "cifar-10-batches-bin"); // as the archive unpacks
    await mkdir(root, { recursive: true });
    let sample = 0;
    for (let k = 1; k <= 5; k++) {
      const records = Array.from({ length: k }, () => cifarRecord(sample, [sample++ % 10]));
      await writeFile(join(root, `data_batch_${k}.bin`), Buffer.concat(records));
    }
    await writeFile(join(root, "test_batch.bin"), Buffer.concat([cifarRecord(100, [7]), cifarRecord(101, [2])]));
    await writeFile(join(root, "batches.meta.txt"), CIFAR10_CLASSES.join("\n") + "\n\n");

    const train = await cifar10({ root: join(dir, "c10") }); // the parent folder works too
    assert.equal(train.length, 15);
    assert.deepEqual(train.shape, [32, 32, 3]);
    assert.deepEqual(train.classes, CIFAR10_CLASSES);
    assert.equal(train.origin, root);
    assert.deepEqual(Array.from(train.labels), Array.from({ length: 15 }, (_, i) => i % 10));
    for (const i of [0, 3, 14]) assertPixels((await train.get(i)).image, i); // records in the 1st, 3rd and 5th files
    const test = await cifar10({ split: "test", root });
    assert.deepEqual(Array.from(test.labels), [7, 2]);
    assertPixels((await test.get(1)).image, 101);
  });

  it("CIFAR-100: <coarse><fine><pixels>; fine labels by default, coarse (CIFAR-20) on request", async () => {
    const root = join(dir, "c100");
    await mkdir(root, { recursive: true });
    const labels = [[4, 30], [1, 1], [19, 99]];
    await writeFile(join(root, "train.bin"), Buffer.concat(labels.map((l, i) => cifarRecord(i, l))));
    const fine = await cifar100({ root });
    assert.equal(fine.classes.length, 100);
    assert.deepEqual(Array.from(fine.labels), [30, 1, 99]);
    assert.equal(fine.classes[30], "dolphin");
    const coarse = await cifar100({ root, labels: "coarse" });
    assert.deepEqual(Array.from(coarse.labels), [4, 1, 19]);
    assert.deepEqual(coarse.classes, CIFAR100_COARSE_CLASSES);
    assert.equal(coarse.name, "CIFAR-100 (train, coarse labels)");
    assertPixels((await coarse.get(2)).image, 2);
  });

  it("rejects truncated files, labels out of range and wrong class-name files, naming the file", async () => {
    const root = join(dir, "bad");
    await mkdir(root, { recursive: true });
    await writeFile(join(root, "test_batch.bin"), Buffer.concat([cifarRecord(0, [1]), cifarRecord(1, [2]).subarray(0, 100)]));
    await assert.rejects(cifar10({ split: "test", root }), /test_batch\.bin: 3173 bytes is not a whole number of 3073-byte CIFAR-10 records \(truncated/);
    await writeFile(join(root, "test_batch.bin"), Buffer.concat([cifarRecord(0, [1]), cifarRecord(1, [12])]));
    await assert.rejects(cifar10({ split: "test", root }), /test_batch\.bin: label 12 of sample 1 is out of range \(expected 0–9\)/);
    await writeFile(join(root, "test.bin"), Buffer.concat([cifarRecord(0, [20, 5])]));
    await assert.rejects(cifar100({ split: "test", root }), /test\.bin: label 20 of sample 0 is out of range \(expected 0–19\)/);
    await writeFile(join(root, "test_batch.bin"), cifarRecord(0, [1]));
    await writeFile(join(root, "batches.meta.txt"), "cat\ndog\n");
    await assert.rejects(cifar10({ split: "test", root }), /batches\.meta\.txt: lists 2 class names, expected 10/);
    await assert.rejects(cifar10({ root }), /CIFAR-10 \(train\) was not found: expected data_batch_1\.bin, .* Looked in .*bad, .*bad\/cifar-10-batches-bin/);
  });
});

describe("STL-10 binary version", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir("stl")));
  after(() => cleanup());

  it("reads column-major channel planes into HWC images, labels 1–10 as 0–9, unlabelled as −1", async () => {
    const root = join(dir, "stl10_binary");
    await mkdir(root, { recursive: true });
    await writeFile(join(root, "train_X.bin"), Buffer.concat([0, 1, 2].map(stlRecord)));
    await writeFile(join(root, "train_y.bin"), Buffer.from([1, 10, 4]));
    await writeFile(join(root, "unlabeled_X.bin"), Buffer.concat([5, 6].map(stlRecord)));
    await writeFile(join(root, "class_names.txt"), STL10_CLASSES.join("\n"));
    const train = await stl10({ root: dir });
    assert.deepEqual(train.shape, [96, 96, 3]);
    assert.deepEqual(Array.from(train.labels), [0, 9, 3]);
    assert.deepEqual(train.classes, STL10_CLASSES);
    assertPixels((await train.get(1)).image, 1);
    // Not a transposed image: pixel (row 2, col 5) differs from (row 5, col 2) in these fixtures.
    assert.notEqual(pixel(1, 2, 5, 0), pixel(1, 5, 2, 0));
    const unlabeled = await stl10({ split: "unlabeled", root });
    assert.deepEqual(Array.from(unlabeled.labels), [-1, -1]);
    assert.deepEqual(unlabeled.classCounts(), new Array(10).fill(0));
    assertPixels((await unlabeled.get(1)).image, 6);
  });

  it("rejects a label file of the wrong length and labels outside 1–10", async () => {
    const root = join(dir, "bad");
    await mkdir(root, { recursive: true });
    await writeFile(join(root, "test_X.bin"), Buffer.concat([0, 1].map(stlRecord)));
    await writeFile(join(root, "test_y.bin"), Buffer.from([1]));
    await assert.rejects(stl10({ split: "test", root }), /test_y\.bin: holds 1 labels but test_X\.bin holds 2 images/);
    await writeFile(join(root, "test_y.bin"), Buffer.from([1, 0]));
    await assert.rejects(stl10({ split: "test", root }), /test_y\.bin: label 0 of sample 1 is out of range \(expected 1–10/);
    await writeFile(join(root, "test_X.bin"), stlRecord(0).subarray(1));
    await assert.rejects(stl10({ split: "test", root }), /test_X\.bin: 27647 bytes is not a whole number of 27648-byte STL-10 image records/);
  });
});
