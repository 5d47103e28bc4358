/** The DEC/N2D autoencoder backbone: architecture, encoder/decoder split, reconstruction pre-training on real images. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { tf, ready } from "../../lib/engine/index.js";
import { fashionMnist } from "../../lib/data/index.js";
import { clusteringInfoNce, drawPositives } from "../../lib/clustering/dcvcd/index.js";
import { SgdMomentum } from "../../lib/clustering/dcvcd/finetune.js";
import { Random } from "../../lib/clustering/random.js";
import { autoencoderPretrain, reconstructionLoss } from "../../lib/train/autoencoder.js";
import { autoencoder } from "../../lib/train/encoders/autoencoder.js";

const snapshot = async (vars: tf.Variable[]) => Promise.all(vars.map(async (v) => Float32Array.from(await v.data())));

test("the default autoencoder is DEC's 784-500-500-2000-10 with a mirrored decoder", async () => {
  await ready();
  const before = tf.memory().numTensors;
  const ae = autoencoder({ seed: 0 });
  assert.deepEqual(ae.trainableVariables.map((v) => v.shape), [[784, 500], [500], [500, 500], [500], [500, 2000], [2000], [2000, 10], [10]]);
  assert.deepEqual(ae.decoderVariables.map((v) => v.shape), [[10, 2000], [2000], [2000, 500], [500], [500, 500], [500], [500, 784], [784]]);
  const encoderParams = 784 * 500 + 500 + 500 * 500 + 500 + 500 * 2000 + 2000 + 2000 * 10 + 10;
  const decoderParams = 10 * 2000 + 2000 + 2000 * 500 + 500 + 500 * 500 + 500 + 500 * 784 + 784;
  assert.equal(ae.countParams(), encoderParams + decoderParams);
  // Images and flat rows give the same embeddings; reconstructions are flat rows.
  const images = tf.randomUniform([3, 28, 28, 1], 0, 1, "float32", 1);
  const [zImages, zRows, rec] = tf.tidy(() => [ae.embed(images), ae.embed(tf.reshape(images, [3, 784])), ae.reconstruct(images)]);
  assert.deepEqual(zImages!.shape, [3, 10]);
  assert.deepEqual(await zImages!.data(), await zRows!.data());
  assert.deepEqual(rec!.shape, [3, 784]);
  // The embedding is linear (signed), not a ReLU output.
  assert.ok((await zImages!.data()).some((v) => v < 0));
  tf.dispose([images, zImages!, zRows!, rec!]);
  ae.dispose();
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
});

test("embed is the encoder half: ReLU hidden layers, linear output; reconstruct = decode(embed); the seed fixes the weights", async () => {
  await ready();
  const ae = autoencoder({ inputDim: 4, hidden: [3, 5], embeddingDim: 2, seed: 7 });
  const x = tf.tensor2d([0.1, 0.9, 0.3, 0.5, 1, 0, 0.2, 0.7], [2, 4]);
  // By hand: relu(relu(x·W0 + b0)·W1 + b1)·W2 + b2.
  const [w0, b0, w1, b1, w2, b2] = ae.trainableVariables as [tf.Variable, ...tf.Variable[]];
  const expected = tf.tidy(() => {
    const h0 = tf.relu(tf.add(tf.matMul(x, w0), b0!));
    const h1 = tf.relu(tf.add(tf.matMul(h0, w1 as tf.Tensor2D), b1!));
    return tf.add(tf.matMul(h1, w2 as tf.Tensor2D), b2!);
  });
  const z = ae.embed(x);
  const close = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).every((v, i) => Math.abs(v - b[i]!) < 1e-5);
  assert.ok(close(await z.data(), await expected.data()));
  const [viaDecode, viaReconstruct] = tf.tidy(() => [ae.decode(ae.embed(x)), ae.reconstruct(x)]);
  assert.deepEqual(viaDecode!.shape, [2, 4]);
  assert.ok(close(await viaDecode!.data(), await viaReconstruct!.data()));
  // Biases start at zero (DEC's initialisation); the same seed gives the same weights, another seed others.
  assert.ok((await b0!.data()).every((v) => v === 0));
  const same = autoencoder({ inputDim: 4, hidden: [3, 5], embeddingDim: 2, seed: 7 });
  const other = autoencoder({ inputDim: 4, hidden: [3, 5], embeddingDim: 2, seed: 8 });
  assert.deepEqual(await same.trainableVariables[0]!.data(), await w0.data());
  assert.notDeepEqual(await other.trainableVariables[0]!.data(), await w0.data());
  tf.dispose([x, expected, z, viaDecode!, viaReconstruct!]);
  [ae, same, other].forEach((m) => m.dispose());
});

test("DCvCD's fine-tuning step on the autoencoder updates the encoder and leaves the decoder alone", async () => {
  await ready();
  const before = tf.memory().numTensors;
  const ae = autoencoder({ hidden: [32, 16], embeddingDim: 10, seed: 1 });
  const x = tf.randomUniform([6, 784], 0, 1, "float32", 3);
  const labels = Int32Array.of(0, 0, 1, 1, 2, 2);
  const positives = drawPositives(labels, new Random(0));
  const [enc0, dec0] = [await snapshot(ae.trainableVariables), await snapshot(ae.decoderVariables)];
  const optimizer = new SgdMomentum(ae.trainableVariables, 0.1, 0.9, 5e-4);
  const loss = optimizer.step(() => clusteringInfoNce(ae.embed(x, { training: true }), labels, positives, 0.5));
  assert.ok(Number.isFinite((await loss.data())[0]!));
  const [enc1, dec1] = [await snapshot(ae.trainableVariables), await snapshot(ae.decoderVariables)];
  assert.ok(enc1.every((v, i) => v.some((value, j) => value !== enc0[i]![j])), "every encoder variable moved");
  assert.deepEqual(dec1, dec0, "the decoder is not trained by fine-tuning");
  tf.dispose([loss, x]);
  optimizer.dispose();
  ae.dispose();
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
});

test("reconstruction pre-training on real Fashion-MNIST images lowers the MSE and leaks no tensor", async () => {
  await ready();
  const data = (await fashionMnist({ split: "test" })).subset(512, { seed: 2 });
  const before = tf.memory().numTensors;
  const ae = autoencoder({ hidden: [128, 64], embeddingDim: 10, seed: 0 });
  // The loss is the per-pixel mean squared error.
  const { x, y } = await data.subset([0, 1, 2]).toTensors();
  const manual = tf.tidy(() => {
    const r = ae.reconstruct(x);
    return tf.div(tf.sum(tf.square(tf.sub(tf.reshape(x, [3, 784]), r))), 3 * 784);
  });
  const computed = tf.tidy(() => reconstructionLoss(x, ae.reconstruct(x)));
  assert.ok(Math.abs((await manual.data())[0]! - (await computed.data())[0]!) < 1e-6);
  tf.dispose([x, y, manual, computed]);
  const dec0 = await snapshot(ae.decoderVariables);
  const epochs: number[] = [];
  const record = await autoencoderPretrain(ae, data, { epochs: 4, batchSize: 64, seed: 0, onEpoch: (e) => epochs.push(e) });
  assert.deepEqual(epochs, [0, 1, 2, 3]);
  assert.equal(record.steps, 4 * 8);
  assert.ok(record.losses.every((l) => Number.isFinite(l) && l > 0));
  assert.ok(record.losses[3]! < 0.75 * record.losses[0]!, `MSE per epoch ${record.losses.join(", ")}`);
  const dec1 = await snapshot(ae.decoderVariables);
  assert.notDeepEqual(dec1, dec0, "pre-training trains the decoder too");
  ae.dispose();
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
});

test("bad inputs and options give errors that say what to do", async () => {
  await ready();
  const ae = autoencoder({ hidden: [8], embeddingDim: 2 });
  const rgb = tf.zeros([2, 32, 32, 3]);
  assert.throws(() => ae.embed(rgb), /autoencoder expects \[batch, 784\] or images holding 784 values each \(e\.g\. \[batch, 28, 28, 1\]\), got \[2, 32, 32, 3\]/);
  const flat = tf.zeros([784]);
  assert.throws(() => ae.embed(flat), /got \[784\]/);
  const z = tf.zeros([2, 3]);
  assert.throws(() => ae.decode(z as tf.Tensor2D), /decode expects embeddings \[batch, 2\], got \[2, 3\]/);
  tf.dispose([rgb, flat, z]);
  assert.throws(() => autoencoder({ hidden: [500, 0] }), /hidden must be a list of positive integers/);
  assert.throws(() => autoencoder({ embeddingDim: 2.5 }), /embeddingDim must be a positive integer, got 2.5/);
  assert.throws(() => autoencoder({ inputDim: -1 }), /inputDim must be a positive integer/);
  const data = (await fashionMnist({ split: "test" })).subset(8, { seed: 0 });
  await assert.rejects(autoencoderPretrain(ae, data, { epochs: 0 }), /epochs must be a positive integer, got 0/);
  await assert.rejects(autoencoderPretrain(ae, data, { epochs: 1, batchSize: 0 }), /batchSize must be a positive integer/);
  const wide = autoencoder({ inputDim: 3072, hidden: [8], embeddingDim: 2 });
  await assert.rejects(autoencoderPretrain(wide, data, { epochs: 1 }), /has images \[28, 28, 1\] \(784 values\) but the autoencoder takes 3072; build it with autoencoder\(\{ inputDim: 784 \}\)/);
  ae.dispose();
  wide.dispose();
});
