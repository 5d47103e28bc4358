import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { tf } from "../../lib/engine/index.js";
import { computeOn, loadBackend, mismatch, seeded } from "../helpers/backends.js";

/** Kernel calls the gradient tape never makes (explicit padding, ties), compared with cpu. */
const DIRECT: Array<{ name: string; run: () => tf.Tensor[] }> = [
  {
    name: "Conv2DBackpropFilter, explicit asymmetric padding, stride 2",
    run: () => {
      const x = tf.tensor(seeded(2 * 9 * 8 * 3, 5), [2, 9, 8, 3]);
      const pad = [[0, 0], [2, 0], [1, 2], [0, 0]];
      const dy = tf.tensor(seeded(2 * 5 * 5 * 4, 6), [2, 5, 5, 4]);
      return [tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, { strides: [2, 2], pad, dataFormat: "NHWC", filterShape: [3, 3, 3, 4] }) as tf.Tensor];
    },
  },
  {
    name: "Conv2DBackpropInput, explicit asymmetric padding, stride 2",
    run: () => {
      const pad = [[0, 0], [2, 0], [1, 2], [0, 0]];
      const dy = tf.tensor(seeded(2 * 5 * 5 * 4, 7), [2, 5, 5, 4]);
      const filter = tf.tensor(seeded(3 * 3 * 3 * 4, 8), [3, 3, 3, 4]);
      return [tf.engine().runKernel("Conv2DBackpropInput", { dy, filter }, { strides: [2, 2], pad, dataFormat: "NHWC", inputShape: [2, 9, 8, 3] }) as tf.Tensor];
    },
  },
  {
    name: "MaxPoolGrad, non-overlapping windows with ties: the first maximum in scan order wins",
    run: () => {
      const input = tf.tensor4d([3, 3, 1, -1, 3, 3, -1, -1, 0, 5, 2, 2, 5, 0, 2, 2], [1, 4, 4, 1]);
      const output = tf.maxPool(input, 2, 2, "valid");
      const dy = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
      return [tf.engine().runKernel("MaxPoolGrad", { dy, input, output }, { filterSize: 2, strides: 2, pad: "valid" }) as tf.Tensor];
    },
  },
  {
    name: "MaxPoolGrad on a window of equal and negative values",
    run: () => {
      const input = tf.tensor4d([-2, -2, -2, -2, -1, -3, -7, -1, -5], [1, 3, 3, 1]);
      const output = tf.maxPool(input, 2, 1, "valid");
      const dy = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
      return [tf.engine().runKernel("MaxPoolGrad", { dy, input, output }, { filterSize: 2, strides: 1, pad: "valid" }) as tf.Tensor];
    },
  },
];

describe("wasm gap kernels called directly", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("wasm");
  });
  for (const c of DIRECT) {
    it(c.name, async () => {
      const expected = await computeOn("cpu", () => tf.tidy(c.run));
      const actual = await computeOn("wasm", () => tf.tidy(c.run));
      assert.equal(actual.leaked, 0);
      const { worst, at } = mismatch(actual.values[0]!, expected.values[0]!, 1e-4, 1e-3);
      assert.ok(worst <= 1, `wasm ${actual.values[0]![at]} vs cpu ${expected.values[0]![at]} at ${at}`);
    });
  }

  // cpu's depthwise backprop ignores dilation, so dilated kernels are checked against the forward
  // convolution through the adjoint identity <dy, conv(x,f)> = <dx, x> = <dW, f>.
  for (const { pad, strides, m } of [
    { pad: "valid" as const, strides: 1, m: 2 },
    { pad: "same" as const, strides: 1, m: 1 },
  ]) {
    it(`depthwise backprop kernels with dilation 2, ${pad}, multiplier ${m}: adjoint identity`, async () => {
      await tf.setBackend("wasm");
      const before = tf.memory().numTensors;
      const [lhs, viaInput, viaFilter] = tf.tidy(() => {
        const x = tf.tensor(seeded(2 * 11 * 10 * 3, 1), [2, 11, 10, 3]) as tf.Tensor4D;
        const f = tf.tensor(seeded(3 * 3 * 3 * m, 2), [3, 3, 3, m]) as tf.Tensor4D;
        const y = tf.depthwiseConv2d(x, f, strides, pad, "NHWC", 2);
        const dy = tf.tensor(seeded(y.size, 3), y.shape);
        const attrs = { strides: [strides, strides], dilations: [2, 2], pad };
        const dx = tf.engine().runKernel("DepthwiseConv2dNativeBackpropInput", { dy, filter: f }, { ...attrs, inputShape: x.shape }) as tf.Tensor;
        const dW = tf.engine().runKernel("DepthwiseConv2dNativeBackpropFilter", { x, dy }, { ...attrs, filterShape: f.shape }) as tf.Tensor;
        return [tf.sum(tf.mul(dy, y)), tf.sum(tf.mul(dx, x)), tf.sum(tf.mul(dW, f))];
      });
      const [a, b, c] = await Promise.all([lhs!, viaInput!, viaFilter!].map(async (t) => (await t.data())[0]!));
      tf.dispose([lhs!, viaInput!, viaFilter!]);
      assert.equal(tf.memory().numTensors, before);
      assert.ok(Math.abs(a - b) <= 1e-4 * Math.abs(a) + 1e-4, `<dy, y> = ${a} but <dx, x> = ${b}`);
      assert.ok(Math.abs(a - c) <= 1e-4 * Math.abs(a) + 1e-4, `<dy, y> = ${a} but <dW, f> = ${c}`);
    });
  }

  it("a conv-net training step on wasm leaks no tensors, step after step", async () => {
    await tf.setBackend("wasm");
    const w1 = tf.variable(tf.tensor(seeded(3 * 3 * 1 * 8, 9, -0.3, 0.3), [3, 3, 1, 8]));
    const w2 = tf.variable(tf.tensor(seeded(3 * 3 * 8 * 1, 10, -0.3, 0.3), [3, 3, 8, 1]));
    const w3 = tf.variable(tf.tensor(seeded(8 * 10, 11, -0.3, 0.3), [8, 10]));
    const x = tf.tensor(seeded(16 * 12 * 12, 12, 0, 1), [16, 12, 12, 1]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5], "int32"), 10);
    const optimizer = tf.train.adam(0.01);
    const loss = () =>
      tf.tidy(() => {
        const h = tf.maxPool(tf.relu(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, "same")), 2, 2, "valid");
        const g = tf.mean(tf.relu(tf.depthwiseConv2d(h, w2 as tf.Tensor4D, 1, "same")), [1, 2]);
        return tf.losses.softmaxCrossEntropy(y, tf.matMul(g, w3)) as tf.Scalar;
      });
    const losses: number[] = [];
    optimizer.minimize(loss)?.dispose(); // first step creates the optimizer's slots
    const after = tf.memory().numTensors;
    for (let step = 0; step < 15; step++) {
      const l = optimizer.minimize(loss, true)!;
      losses.push((await l.data())[0]!);
      l.dispose();
      assert.equal(tf.memory().numTensors, after, `step ${step} leaked tensors`);
    }
    assert.ok(losses.at(-1)! < losses[0]!, `loss did not decrease: ${losses.join(", ")}`);
    tf.dispose([w1, w2, w3, x, y]);
    optimizer.dispose();
  });
});
