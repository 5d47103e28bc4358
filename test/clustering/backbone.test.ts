/** The backbone pieces DCvCD starts from: the small CNN encoder and SimCLR pre-training. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { tf, ready } from "../../lib/engine/index.js";
import { fashionMnist } from "../../lib/data/index.js";
import * as transforms from "../../lib/data/transforms/index.js";
import { contrastivePretrain, ntXent } from "../../lib/train/contrastive.js";
import { smallCnn } from "../../lib/train/encoders/small-cnn.js";
import { testRng } from "./python.js";

test("NT-Xent equals the formula: cross-entropy of each view's partner over the other 2B − 1", () => {
  const rand = testRng(2);
  const b = 5;
  const d = 4;
  const va = Float32Array.from({ length: b * d }, () => rand() - 0.5);
  const vb = Float32Array.from({ length: b * d }, () => rand() - 0.5);
  const [a, bb] = [tf.tensor2d(va, [b, d]), tf.tensor2d(vb, [b, d])];
  const loss = ntXent(a, bb, 0.5);
  const actual = loss.dataSync()[0]!;
  tf.dispose([a, bb, loss]);
  const rows = [...Array.from({ length: b }, (_, i) => va.subarray(i * d, i * d + d)), ...Array.from({ length: b }, (_, i) => vb.subarray(i * d, i * d + d))];
  const cos = (x: Float32Array, y: Float32Array) => x.reduce((s, v, k) => s + v * y[k]!, 0) / (Math.hypot(...x) * Math.hypot(...y));
  let expected = 0;
  for (let i = 0; i < 2 * b; i++) {
    const partner = (i + b) % (2 * b);
    let denominator = 0;
    for (let j = 0; j < 2 * b; j++) if (j !== i) denominator += Math.exp(cos(rows[i]!, rows[j]!) / 0.5);
    expected -= Math.log(Math.exp(cos(rows[i]!, rows[partner]!) / 0.5) / denominator);
  }
  expected /= 2 * b;
  assert.ok(Math.abs(actual - expected) < 1e-4, `${actual} vs ${expected}`);
});

test("the small CNN embeds 28×28 images deterministically per seed and rejects other shapes", async () => {
  await ready();
  const x = tf.randomUniform([3, 28, 28, 1], 0, 1, "float32", 1);
  const a = smallCnn({ channels: [4, 8, 16], seed: 3 });
  const b = smallCnn({ channels: [4, 8, 16], seed: 3 });
  const [ea, eb] = [a.embed(x), b.embed(x)];
  assert.deepEqual(ea.shape, [3, 16]);
  assert.deepEqual(await ea.data(), await eb.data());
  assert.equal(a.countParams(), a.trainableVariables.reduce((s, v) => s + v.size, 0));
  const rgb = tf.zeros([1, 28, 28, 3]);
  assert.throws(() => a.embed(rgb), /smallCnn expects images \[batch, height, width, 1\], got \[1, 28, 28, 3\]/);
  tf.dispose([x, ea, eb, rgb]);
  a.dispose();
  b.dispose();
  assert.throws(() => smallCnn({ channels: [4, 0, 8] }), /three positive integers/);
});

test("SimCLR pre-training on real Fashion-MNIST images trains the encoder and leaks no tensor", async () => {
  await ready();
  const data = (await fashionMnist({ split: "test" })).subset(96, { seed: 1 });
  const before = tf.memory().numTensors;
  const encoder = smallCnn({ channels: [4, 8, 16], seed: 0 });
  const w0 = Float32Array.from(await encoder.trainableVariables[0]!.data());
  const views = transforms.twoViews(transforms.compose([transforms.randomResizedCrop(28, { scale: [0.2, 1] }), transforms.randomHorizontalFlip()]));
  const epochs: number[] = [];
  const record = await contrastivePretrain(encoder, data, { augment: views, epochs: 2, batchSize: 32, onEpoch: (e) => epochs.push(e) });
  assert.deepEqual(epochs, [0, 1]);
  assert.equal(record.steps, 6);
  assert.ok(record.losses.every((l) => Number.isFinite(l) && l > 0));
  assert.notDeepEqual(await encoder.trainableVariables[0]!.data(), w0);
  encoder.dispose();
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  await assert.rejects(contrastivePretrain(smallCnn(), data, { augment: views, epochs: 0 }), /epochs must be a positive integer/);
});

test("a headless CLUE_nano_FMNIST is an Encoder whose embeddings train", async () => {
  const { cluenetEncoder } = await import("../../lib/train/encoders/cluenet.js");
  const { SgdMomentum } = await import("../../lib/clustering/dcvcd/finetune.js");
  const { clusteringInfoNce, drawPositives } = await import("../../lib/clustering/dcvcd/index.js");
  const { Random } = await import("../../lib/clustering/random.js");
  await ready();
  const before = tf.memory().numTensors;
  const encoder = cluenetEncoder("CLUE_nano_FMNIST", { seed: 1 });
  const x = tf.randomUniform([4, 28, 28, 1], 0, 1, "float32", 2);
  const z = encoder.embed(x);
  assert.deepEqual(z.shape, [4, 128]);
  z.dispose();
  // One clustering-aware InfoNCE step through the whole network moves its weights.
  const labels = Int32Array.of(0, 0, 1, 1);
  const positives = drawPositives(labels, new Random(0));
  const optimizer = new SgdMomentum(encoder.trainableVariables, 0.1, 0.9, 5e-4);
  const w0 = Float32Array.from(await encoder.trainableVariables[0]!.data());
  const loss = optimizer.step(() => clusteringInfoNce(encoder.embed(x, { training: true }), labels, positives, 0.5));
  assert.ok(Number.isFinite((await loss.data())[0]!));
  assert.notDeepEqual(await encoder.trainableVariables[0]!.data(), w0);
  tf.dispose([loss, x]);
  optimizer.dispose();
  encoder.dispose();
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
});
