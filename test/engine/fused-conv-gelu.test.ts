import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { tf } from "../../lib/engine/index.js";
import { depthwiseConv2dBias, depthwiseConv2dBiasGelu, gelu } from "../../lib/engine/fused/index.js";
import { Mlp, Rng, pytorchDefault } from "../../lib/nn/index.js";
import { computeOn, loadBackend, mismatch, seeded } from "../helpers/backends.js";

const t = (shape: number[], seed: number) => tf.tensor(seeded(shape.reduce((a, b) => a * b, 1), seed), shape);

interface Case {
  x: [number, number, number, number];
  strides: number;
  pad: number | "same" | "valid";
}

// Native paths: the forward pass is depthwiseConv2dBias's kernel (hand-written for 16·k channels
// on rows >= 8 wide or strided, else oneDNN's) and the GELU kernel; the backward pass is the
// fused sweep for 32+ channels in 16s (FUSED, and rows 4 wide), else the GELU
// gradient kernel and separate gradient kernels (channels not in 16s, 16 channels).
const FUSED: Case[] = [
  { x: [8, 20, 24, 32], strides: 1, pad: 1 },
  { x: [4, 16, 16, 64], strides: 1, pad: 1 },
  // chunks of 32 rows: the gradient's dz window slides to the end of its buffer and moves back
  { x: [2, 64, 8, 32], strides: 1, pad: 1 },
  { x: [3, 17, 13, 48], strides: 1, pad: 1 },
  { x: [1, 9, 11, 32], strides: 1, pad: "same" },
  { x: [2, 15, 13, 32], strides: 2, pad: "same" },
  { x: [2, 12, 10, 32], strides: 1, pad: "valid" },
];
const OTHER: Case[] = [
  { x: [16, 4, 4, 48], strides: 1, pad: 1 },
  { x: [2, 7, 6, 5], strides: 1, pad: 1 },
  { x: [3, 9, 11, 16], strides: 2, pad: "same" },
  { x: [1, 11, 9, 24], strides: 2, pad: "valid" },
];
const NAMES = ["y", "dx", "dfilter", "dbias"];

type Op = (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, strides: number, pad: Case["pad"]) => tf.Tensor4D;
const fused: Op = depthwiseConv2dBiasGelu;
const composed: Op = (x, w, b, s, p) => gelu(depthwiseConv2dBias(x, w, b, s, p));

/** y and the gradients of Σ y·wy with respect to x, filter and bias. */
function valueAndGradients(c: Case, op: Op): tf.Tensor[] {
  return tf.tidy(() => {
    const C = c.x[3];
    const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => op(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, c.strides, c.pad);
    // filter and bias scaled so the pre-activations spread over GELU's curved part (|z| ≲ 3)
    const x = t(c.x, 1), w = tf.mul(t([3, 3, C, 1], 2), 0.7), b = tf.mul(t([C], 3), 0.5);
    const y = f(x, w, b);
    const wy = t(y.shape, 4);
    return [y, ...tf.grads((a: tf.Tensor, k: tf.Tensor, c2: tf.Tensor) => tf.sum(tf.mul(f(a, k, c2), wy)))([x, w, b])];
  });
}

const label = (c: Case) => `x ${c.x.join("×")}, stride ${c.strides}, pad ${c.pad}`;

async function kernelsOf(f: () => void): Promise<string[]> {
  return (await tf.profile(f)).kernelNames;
}

describe("depthwiseConv2dBiasGelu", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
  });

  for (const c of [...FUSED, ...OTHER]) {
    it(`${label(c)}: native equals gelu(depthwiseConv2dBias) on cpu, value and gradients`, async () => {
      const expected = await computeOn("cpu", () => valueAndGradients(c, composed));
      const actual = await computeOn("native", () => valueAndGradients(c, fused));
      assert.equal(actual.leaked, 0, "native leaked tensors");
      actual.values.forEach((values, k) => {
        const { worst, at } = mismatch(values, expected.values[k]!, 1e-4, 1e-3);
        assert.ok(worst <= 1, `${NAMES[k]}: native ${values[at]} vs cpu ${expected.values[k]![at]} at ${at} (${worst.toFixed(1)}× the tolerance)`);
      });
    });
  }

  for (const c of FUSED.slice(0, 5)) {
    it(`${label(c)}: native fused kernels give bit for bit what the native composition gives`, async () => {
      // same convolution code, same GELU math, same order of summation: training on native is unchanged by the fusion
      const separate = await computeOn("native", () => valueAndGradients(c, composed));
      const together = await computeOn("native", () => valueAndGradients(c, fused));
      together.values.forEach((values, k) => {
        const { worst, at } = mismatch(values, separate.values[k]!, 0, 0);
        assert.ok(worst === 0, `${NAMES[k]}: fused ${values[at]} vs composed ${separate.values[k]![at]} at ${at}`);
      });
    });
  }

  it("native: one kernel forward and one backward where the one sweep runs, deterministic from run to run", async () => {
    await tf.setBackend("native");
    const names = await kernelsOf(() => tf.dispose(valueAndGradients(FUSED[0]!, fused)));
    for (const k of ["ClueDepthwiseConv2DBiasGelu", "ClueDepthwiseConv2DBiasGeluGrad"]) assert.ok(names.includes(k), names.join(", "));
    for (const k of ["ClueGelu", "ClueGeluGrad", "ClueDepthwiseConv2DBias", "ClueDepthwiseConv2DBiasGrad"]) {
      assert.ok(!names.includes(k), `${k} ran: ${names.join(", ")}`);
    }
    const first = valueAndGradients(FUSED[0]!, fused), second = valueAndGradients(FUSED[0]!, fused);
    first.forEach((g, k) => assert.deepEqual(g.dataSync(), second[k]!.dataSync(), `${NAMES[k]} changed between runs`));
    tf.dispose([...first, ...second]);
  });

  it("native, no gradient tape (inference): the same y as the composition, bit for bit, without keeping z", async () => {
    for (const c of [FUSED[0]!, OTHER[0]!]) {
      const forward = (op: Op) => () => [tf.tidy(() => op(t(c.x, 1) as tf.Tensor4D, tf.mul(t([3, 3, c.x[3], 1], 2), 0.7) as tf.Tensor4D,
        tf.mul(t([c.x[3]], 3), 0.5) as tf.Tensor1D, c.strides, c.pad))];
      const together = await computeOn("native", forward(fused));
      const separate = await computeOn("native", forward(composed));
      assert.equal(together.leaked, 0, `${label(c)}: leaked tensors`);
      assert.deepEqual(together.values[0], separate.values[0], `${label(c)}: y differs from the composition`);
    }
  });

  it("cpu: runs exactly the composition gelu(depthwiseConv2dBias(…))", async () => {
    const c = FUSED[2]!;
    const a = await computeOn("cpu", () => valueAndGradients(c, fused));
    const b = await computeOn("cpu", () => valueAndGradients(c, composed));
    a.values.forEach((v, k) => assert.deepEqual(v, b.values[k], `${NAMES[k]} differs from the composition`));
    await tf.setBackend("cpu");
    const names = await kernelsOf(() => tf.dispose(valueAndGradients(c, fused)));
    assert.ok(!names.some((n) => n.startsWith("ClueDepthwiseConv2DBiasGelu")), names.join(", "));
  });

  for (const backend of ["cpu", "native"] as const) {
    it(`${backend}: wrong shapes are clear errors and leave no tensor behind`, async () => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const x = tf.zeros([1, 5, 5, 3]) as tf.Tensor4D, dw = tf.zeros([3, 3, 3, 1]) as tf.Tensor4D, b3 = tf.zeros([3]) as tf.Tensor1D;
        assert.throws(() => depthwiseConv2dBiasGelu(x, dw, tf.zeros([4]) as tf.Tensor1D, 1, 1),
          /depthwiseConv2dBiasGelu: x \[1,5,5,3\], filter \[3,3,3,1\] and bias \[4\] must be .*\[kh, kw, C, 1\]/);
        assert.throws(() => depthwiseConv2dBiasGelu(x, tf.zeros([3, 3, 3, 2]) as tf.Tensor4D, b3, 1, 1), /\[kh, kw, C, 1\]/);
        assert.throws(() => depthwiseConv2dBiasGelu(tf.zeros([5, 5, 3]) as unknown as tf.Tensor4D, dw, b3, 1, 1), /must be \[B, H, W, C\]/);
        assert.deepEqual(depthwiseConv2dBiasGelu(x, dw, b3, 1, 1).shape, [1, 5, 5, 3]);
      });
      assert.equal(tf.memory().numTensors, before);
    });
  }

  it("native: the MetaFormer Mlp with a depthwise convolution runs the fused kernels, same output and gradients as on cpu", async () => {
    const run = () => {
      const mlp = new Mlp({ rng: new Rng(7), init: pytorchDefault }, 16, 32, { depthwise: true });
      const x = t([2, 9, 10, 16], 5), wy = t([2, 9, 10, 16], 6);
      const params = mlp.namedParameters().map(([, p]) => p.variable);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(mlp.forward(x as tf.Tensor4D), wy)) as tf.Scalar, params);
      const out = [value, ...params.map((p) => grads[p.name]!)];
      mlp.dispose();
      tf.dispose([x, wy]);
      return out;
    };
    const expected = await computeOn("cpu", run);
    const actual = await computeOn("native", run);
    assert.equal(actual.leaked, 0, "native leaked tensors");
    actual.values.forEach((values, k) => {
      const { worst, at } = mismatch(values, expected.values[k]!, 1e-4, 1e-3);
      assert.ok(worst <= 1, `output ${k}: native ${values[at]} vs cpu ${expected.values[k]![at]} at ${at}`);
    });
    const names = await kernelsOf(() => tf.dispose(run()));
    assert.ok(names.includes("ClueDepthwiseConv2DBiasGelu") && names.includes("ClueDepthwiseConv2DBiasGeluGrad"), names.join(", "));
  });
});
