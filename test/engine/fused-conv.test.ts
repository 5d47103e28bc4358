import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { tf } from "../../lib/engine/index.js";
import { conv2dBias, depthwiseConv2dBias } from "../../lib/engine/fused/index.js";
import { computeOn, loadBackend, mismatch, seeded } from "../helpers/backends.js";

const t = (shape: number[], seed: number) => tf.tensor(seeded(shape.reduce((a, b) => a * b, 1), seed), shape);

interface Case {
  depthwise: boolean;
  x: number[];
  filter: number[];
  strides: number;
  pad: number | "same" | "valid";
}

// Hand-written depthwise kernels (16·k channels, rows ≥ 8 wide) and oneDNN's (other channel
// counts, 4-wide rows); the gradients in one sweep (32+ channels in 16s, rows ≥ 8 wide or
// strided: the 32-, 64- and 48-channel cases) or separately; oneDNN dense convolutions with a
// batch cut into sub-batches.
const CASES: Case[] = [
  { depthwise: true, x: [8, 20, 24, 32], filter: [3, 3, 32, 1], strides: 1, pad: 1 },
  { depthwise: true, x: [3, 9, 11, 16], filter: [3, 3, 16, 1], strides: 2, pad: "same" },
  { depthwise: true, x: [16, 4, 4, 48], filter: [3, 3, 48, 1], strides: 1, pad: 1 },
  { depthwise: true, x: [2, 7, 6, 5], filter: [3, 3, 5, 1], strides: 1, pad: "valid" },
  { depthwise: true, x: [1, 11, 9, 24], filter: [3, 3, 24, 1], strides: 2, pad: "valid" },
  { depthwise: true, x: [1, 16, 16, 64], filter: [3, 3, 64, 1], strides: 2, pad: "same" },
  { depthwise: true, x: [4, 16, 16, 40], filter: [3, 3, 40, 1], strides: 1, pad: "same" },
  { depthwise: true, x: [1, 12, 10, 48], filter: [3, 3, 48, 1], strides: 1, pad: "valid" },
  { depthwise: false, x: [16, 32, 32, 1], filter: [3, 3, 1, 16], strides: 1, pad: 1 },
  { depthwise: false, x: [8, 16, 16, 32], filter: [3, 3, 32, 24], strides: 2, pad: 1 },
  { depthwise: false, x: [2, 9, 7, 3], filter: [4, 4, 3, 5], strides: 4, pad: "valid" },
];

const op = (c: Case) => (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
  (c.depthwise ? depthwiseConv2dBias : conv2dBias)(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, c.strides, c.pad);

function valueAndGradients(c: Case): tf.Tensor[] {
  return tf.tidy(() => {
    const f = op(c);
    const x = t(c.x, 1), w = t(c.filter, 2), b = t([c.filter[c.depthwise ? 2 : 3]!], 3);
    const y = f(x, w, b);
    const wy = t(y.shape, 4);
    return [y, ...tf.grads((a: tf.Tensor, k: tf.Tensor, c2: tf.Tensor) => tf.sum(tf.mul(f(a, k, c2), wy)))([x, w, b])];
  });
}

describe("conv2dBias and depthwiseConv2dBias", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
  });

  for (const c of CASES) {
    const name = `${c.depthwise ? "depthwise" : "conv2d"} x ${c.x.join("×")}, filter ${c.filter.join("×")}, stride ${c.strides}, pad ${c.pad}`;
    it(`${name}: the native kernel equals conv + add on cpu, value and gradients`, async () => {
      const expected = await computeOn("cpu", () => valueAndGradients(c));
      const actual = await computeOn("native", () => valueAndGradients(c));
      assert.equal(actual.leaked, 0, "native leaked tensors");
      actual.values.forEach((values, k) => {
        const { worst, at } = mismatch(values, expected.values[k]!, 1e-4, 1e-3);
        assert.ok(worst <= 1, `${["y", "dx", "dfilter", "dbias"][k]}: native ${values[at]} vs cpu ${expected.values[k]![at]} at ${at}`);
      });
    });
  }

  it("runs the input gradient only when it is asked for (a stem's input image needs none)", async () => {
    await tf.setBackend("native");
    const x = t([4, 8, 8, 1], 5), w = tf.variable(t([3, 3, 1, 8], 6)), b = tf.variable(t([8], 7));
    const kernelsOf = async (f: () => tf.Scalar) => {
      const info = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(f, [w, b]);
        tf.dispose([value, ...Object.values(grads)]);
      });
      return info.kernelNames;
    };
    const names = await kernelsOf(() => tf.sum(conv2dBias(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, 1, 1)) as tf.Scalar);
    assert.ok(names.includes("ClueConv2DBias") && names.includes("Conv2DBackpropFilter"), names.join(", "));
    assert.ok(!names.includes("Conv2DBackpropInput"), `the input gradient ran: ${names.join(", ")}`);
    tf.dispose([x, w, b]);
  });

  it("native: depthwiseConv2dBias's three gradients come from one kernel, deterministic from step to step", async () => {
    await tf.setBackend("native");
    const c = CASES[0]!;
    const info = await tf.profile(() => tf.dispose(valueAndGradients(c)));
    assert.ok(info.kernelNames.includes("ClueDepthwiseConv2DBiasGrad"), info.kernelNames.join(", "));
    for (const separate of ["DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter"]) {
      assert.ok(!info.kernelNames.includes(separate), `${separate} ran: ${info.kernelNames.join(", ")}`);
    }
    const first = valueAndGradients(c), second = valueAndGradients(c);
    first.forEach((g, k) => assert.deepEqual(g.dataSync(), second[k]!.dataSync(), `${["y", "dx", "dfilter", "dbias"][k]} changed between runs`));
    tf.dispose([...first, ...second]);
  });

  for (const backend of ["cpu", "native"] as const) {
    it(`${backend}: wrong shapes are clear errors and leave no tensor behind`, async () => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const x = tf.zeros([1, 5, 5, 3]) as tf.Tensor4D, w = tf.zeros([3, 3, 3, 4]) as tf.Tensor4D, dw = tf.zeros([3, 3, 3, 1]) as tf.Tensor4D;
        const b3 = tf.zeros([3]) as tf.Tensor1D;
        assert.throws(() => conv2dBias(x, w, b3, 1, 1), /conv2dBias: x \[1,5,5,3\], filter \[3,3,3,4\] and bias \[3\] must be .*one bias per output channel/);
        assert.throws(() => conv2dBias(x, tf.zeros([3, 3, 2, 3]) as tf.Tensor4D, b3, 1, 1), /\[kh, kw, in, out\]/);
        assert.throws(() => depthwiseConv2dBias(x, w, tf.zeros([4]) as tf.Tensor1D, 1, 1), /depthwiseConv2dBias: .*\[kh, kw, C, 1\]/);
        assert.deepEqual(depthwiseConv2dBias(x, dw, b3, 1, 1).shape, [1, 5, 5, 3]);
      });
      assert.equal(tf.memory().numTensors, before);
    });
  }
});
