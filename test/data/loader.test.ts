import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CELL_ABORT_SIGNAL } from "../../lib/display/protocol.js";
import { tf } from "../../lib/engine/tf.js";
import { cifar10, fashionMnist, type Batch, type ImageDataset } from "../../lib/data/index.js";
import * as transforms from "../../lib/data/transforms/index.js";
import { cifarRecord, tempDir, writeIdxSet } from "./fixtures.js";

/** Everything a batch holds, as plain arrays (and frees it). */
async function read(batch: Batch): Promise<{ x: Float32Array; y: number[]; shape: number[] }> {
  const out = { x: new Float32Array(await batch.x.data()), y: Array.from(await batch.y.data()), shape: batch.x.shape };
  batch.dispose();
  return out;
}

async function epoch(loader: AsyncIterable<Batch>): Promise<{ x: Float32Array; y: number[]; shape: number[] }[]> {
  const out = [];
  for await (const b of loader) out.push(await read(b));
  return out;
}

describe("batches", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let cifar: ImageDataset;
  let fmnist: ImageDataset;
  before(async () => {
    ({ dir, cleanup } = await tempDir("loader"));
    const root = join(dir, "cifar");
    await mkdir(root, { recursive: true });
    // 50 samples, labels i % 10, over five files; the test file is unused here.
    let s = 0;
    for (let k = 1; k <= 5; k++) await writeFile(join(root, `data_batch_${k}.bin`), Buffer.concat(Array.from({ length: 10 }, () => cifarRecord(s, [s++ % 10]))));
    await writeFile(join(root, "test_batch.bin"), cifarRecord(0, [0]));
    cifar = await cifar10({ root });
    await writeIdxSet(join(dir, "fm"), { train: 37, test: 3 }, { gzip: true });
    fmnist = await fashionMnist({ root: join(dir, "fm") });
  });
  after(() => cleanup());

  it("yields {x: [B,H,W,C] float32, y: int32} covering every sample once per epoch; dropLast drops the remainder", async () => {
    const batches = await epoch(fmnist.batches({ batchSize: 8, shuffle: true, seed: 1 }));
    assert.deepEqual(batches.map((b) => b.shape[0]), [8, 8, 8, 8, 5]);
    assert.deepEqual(batches[0]!.shape, [8, 28, 28, 1]);
    const b0 = fmnist.batches({ batchSize: 8 });
    for await (const b of b0) {
      assert.equal(b.x.dtype, "float32");
      assert.equal(b.y.dtype, "int32");
      b.dispose();
      break;
    }
    // Every sample exactly once: pixel (0, 0) of sample s is pixel(s, 0, 0, 0) = 37 s mod 256, distinct for s < 37.
    const firstPixels = batches.flatMap((b) => Array.from({ length: b.shape[0]! }, (_, i) => Math.round(b.x[i * 784]! * 255)));
    assert.deepEqual([...firstPixels].sort((a, b) => a - b), Array.from({ length: 37 }, (_, s) => (s * 37) % 256).sort((a, b) => a - b));
    const loader = fmnist.batches({ batchSize: 8, dropLast: true });
    assert.equal(loader.length, 4);
    assert.deepEqual((await epoch(loader)).map((b) => b.shape[0]), [8, 8, 8, 8]);
    assert.equal(fmnist.batches({ batchSize: 8, drop_last: true }).length, 4);
    assert.throws(() => fmnist.batches({ batchSize: 0 }), /batchSize must be a positive integer, got 0/);
  });

  it("is reproducible: same seed, same batches; each new iteration is the next epoch; workers change nothing", async () => {
    const augment = transforms.recipes.cifarTrain(transforms.stats.cifar10);
    const options = { batchSize: 16, shuffle: true, seed: 7, augment };
    const a = await epoch(cifar.batches({ ...options, workers: 0 }));
    const b = await epoch(cifar.batches({ ...options, workers: 1 }));
    const c = await epoch(cifar.batches({ ...options, workers: 2, prefetch: 3 }));
    assert.deepEqual(a, b);
    assert.deepEqual(a, c);
    const other = await epoch(cifar.batches({ ...options, seed: 8, workers: 0 }));
    assert.notDeepEqual(a.map((x) => x.y), other.map((x) => x.y));
    const loader = cifar.batches({ ...options, workers: 1 });
    assert.deepEqual(await epoch(loader), a);
    assert.equal(loader.epoch, 1);
    const second = await epoch(loader);
    assert.notDeepEqual(second.map((x) => x.y), a.map((x) => x.y), "epoch 1 has another order");
    assert.deepEqual(second, await epoch(cifar.batches({ ...options, epoch: 1, workers: 0 })));
    // Unshuffled, un-augmented batches are the images in order.
    const plain = await epoch(cifar.batches({ batchSize: 50 }));
    const direct = await cifar.get(13);
    assert.deepEqual(plain[0]!.x.subarray(13 * 3072, 14 * 3072), direct.image.data);
    assert.deepEqual(plain[0]!.y, Array.from({ length: 50 }, (_, i) => i % 10));
  });

  it("leaks no tensors, also when a loop stops early, and lets the process exit", async () => {
    const before = tf.memory().numTensors;
    for (const workers of [0, 1]) {
      for await (const b of cifar.batches({ batchSize: 8, shuffle: true, augment: transforms.recipes.cifarTrain(), workers })) b.dispose();
      for await (const b of cifar.batches({ batchSize: 8, workers })) {
        b.dispose();
        break;
      }
      const views = cifar.batches({ batchSize: 8, augment: transforms.recipes.simclr(24), workers });
      for await (const b of views) {
        assert.equal(b.views.length, 2);
        b.dispose();
      }
    }
    assert.equal(tf.memory().numTensors, before);
  });

  it("stops at the next batch when the notebook cell is interrupted, closing its worker and leaking nothing", async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const global = globalThis as Record<PropertyKey, unknown>;
    global[CELL_ABORT_SIGNAL] = controller.signal;
    let seen = 0;
    try {
      await assert.rejects(async () => {
        for await (const b of cifar.batches({ batchSize: 5 })) {
          b.dispose();
          if (++seen === 2) controller.abort(new Error("interrupted by the user"));
        }
      }, /interrupted by the user/);
    } finally {
      delete global[CELL_ABORT_SIGNAL];
    }
    assert.equal(seen, 2);
    assert.equal(tf.memory().numTensors, before);
  });

  it("two-view batches: independent augmentations of the same images, one label tensor", async () => {
    const loader = cifar.batches({ batchSize: 10, augment: transforms.twoViews(transforms.compose([transforms.randomCrop(32, { padding: 4 }), transforms.randomHorizontalFlip()])), seed: 3 });
    for await (const b of loader) {
      const [v1, v2] = b.views;
      assert.deepEqual(v1!.shape, [10, 32, 32, 3]);
      assert.deepEqual(v2!.shape, [10, 32, 32, 3]);
      assert.notDeepEqual(await v1!.data(), await v2!.data());
      assert.deepEqual(Array.from(await b.y.data()), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      b.dispose();
      break;
    }
  });

  it("subset: seeded, stratified by default, keeps dataset order; positions work too", async () => {
    const s = cifar.subset(20, { seed: 1 });
    assert.equal(s.length, 20);
    assert.deepEqual(s.classCounts(), new Array(10).fill(2));
    assert.deepEqual(Array.from(cifar.subset(20, { seed: 1 }).labels), Array.from(s.labels));
    const pixels = async (d: ImageDataset) => {
      const { x, y } = await d.toTensors();
      const data = await x.data();
      tf.dispose([x, y]);
      return data;
    };
    assert.notDeepEqual(await pixels(cifar.subset(20, { seed: 2 })), await pixels(s), "another seed picks other samples");
    const free = cifar.subset(7, { seed: 1, stratified: false });
    assert.equal(free.length, 7);
    assert.match(free.name, /CIFAR-10 \(train\) \[subset of 7\]/);
    const picked = cifar.subset([3, 1, 4]);
    assert.deepEqual(Array.from(picked.labels), [3, 1, 4]);
    assert.deepEqual((await picked.get(2)).image.data, (await cifar.get(4)).image.data);
    // Subsets of subsets map back to the original samples.
    const nested = picked.subset([2]);
    assert.deepEqual((await nested.get(0)).image.data, (await cifar.get(4)).image.data);
    assert.throws(() => cifar.subset(51), /cannot take a subset of 51 from 50 samples/);
    assert.throws(() => cifar.subset([50]), /subset position 50 is out of range \[0, 50\)/);
    const batches = await epoch(picked.batches({ batchSize: 2 }));
    assert.deepEqual(batches.map((b) => b.y), [[3, 1], [4]]);
  });

  it("rejects augmentations that do not fit the images before starting any worker", () => {
    assert.throws(
      () => fmnist.batches({ batchSize: 4, augment: transforms.recipes.cifarTrain() }),
      /Fashion-MNIST \(train\): the augmentation does not fit its 28×28×1 images: normalize has 3 means and 3 stds for a 1-channel image/,
    );
    assert.throws(() => fmnist.batches({ batchSize: 4, augment: transforms.randomCrop(40, { padding: 2 }) }), /randomCrop 40×40 is larger than the padded 32×32 image/);
    assert.throws(() => fmnist.batches({ batchSize: 4, augment: (() => 1) as never }), /augment must be built with the `transforms` functions/);
  });
});
