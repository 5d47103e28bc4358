/**
 * The ops whose gradients cluelab's models use, each as a function of seeded inputs returning a
 * tensor; the suite checks the forward value and the gradient w.r.t. every input on each backend.
 */
import { tf } from "../../lib/engine/index.js";
import {
  clusterAssign, clusterDispatch, clusterMean, conv2dBias, depthwiseConv2dBias, gelu, l2Normalize, layerNorm, layerNormTee, linear, linearPair, nearestCenter, residual,
  softAggregate,
} from "../../lib/engine/fused/index.js";
import { seeded } from "../helpers/backends.js";

export interface ParityCase {
  name: string;
  inputs: Array<{ shape: number[]; lo?: number; hi?: number }>;
  f: (...xs: tf.Tensor[]) => tf.Tensor;
  /** Not differentiable w.r.t. any input (argmax, one-hot): compare the forward value only. */
  forwardOnly?: boolean;
}

const conv = (stride: number, pad: "same" | "valid") => (x: tf.Tensor, w: tf.Tensor) =>
  tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad);
const dw = (stride: number, pad: "same" | "valid") => (x: tf.Tensor, w: tf.Tensor) =>
  tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad);
const erfGelu = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));
const l2norm = (x: tf.Tensor) => tf.div(x, tf.add(tf.norm(x, "euclidean", -1, true), 1e-6));

export const PARITY_CASES: ParityCase[] = [
  { name: "matMul", inputs: [{ shape: [7, 13] }, { shape: [13, 5] }], f: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D) },
  { name: "matMul transposed", inputs: [{ shape: [13, 7] }, { shape: [5, 13] }], f: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, true, true) },
  { name: "batchMatMul 3-D", inputs: [{ shape: [3, 6, 8] }, { shape: [3, 8, 4] }], f: (a, b) => tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D) },
  { name: "batchMatMul 4-D (heads)", inputs: [{ shape: [2, 3, 5, 8] }, { shape: [2, 3, 8, 6] }], f: (a, b) => tf.matMul(a as tf.Tensor4D, b as tf.Tensor4D, false, false) },
  { name: "dense (matMul + bias)", inputs: [{ shape: [9, 12] }, { shape: [12, 4] }, { shape: [4] }], f: (x, w, b) => tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b!) },
  { name: "conv2d 3×3 same stride 1", inputs: [{ shape: [2, 8, 8, 3] }, { shape: [3, 3, 3, 5] }], f: conv(1, "same") },
  { name: "conv2d 3×3 same stride 2 (odd size)", inputs: [{ shape: [2, 9, 7, 4] }, { shape: [3, 3, 4, 6] }], f: conv(2, "same") },
  { name: "conv2d 3×3 valid stride 2", inputs: [{ shape: [1, 10, 10, 2] }, { shape: [3, 3, 2, 3] }], f: conv(2, "valid") },
  { name: "conv2d 4×4 stride 4 (patch stem)", inputs: [{ shape: [2, 16, 16, 5] }, { shape: [4, 4, 5, 8] }], f: conv(4, "valid") },
  { name: "conv2d 1×1", inputs: [{ shape: [2, 5, 5, 6] }, { shape: [1, 1, 6, 4] }], f: conv(1, "valid") },
  { name: "depthwiseConv2d 3×3 same", inputs: [{ shape: [2, 8, 8, 4] }, { shape: [3, 3, 4, 1] }], f: dw(1, "same") },
  { name: "depthwiseConv2d 3×3 same stride 2", inputs: [{ shape: [2, 9, 9, 3] }, { shape: [3, 3, 3, 1] }], f: dw(2, "same") },
  { name: "depthwiseConv2d multiplier 2 valid", inputs: [{ shape: [1, 7, 6, 3] }, { shape: [3, 3, 3, 2] }], f: dw(1, "valid") },
  { name: "separableConv2d", inputs: [{ shape: [2, 6, 6, 3] }, { shape: [3, 3, 3, 1] }, { shape: [1, 1, 3, 5] }], f: (x, d, p) => tf.separableConv2d(x as tf.Tensor4D, d as tf.Tensor4D, p as tf.Tensor4D, 1, "same") },
  { name: "avgPool 2×2", inputs: [{ shape: [2, 8, 8, 3] }], f: (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, "valid") },
  { name: "avgPool 4×4 (adaptive pooling to centers)", inputs: [{ shape: [2, 16, 16, 4] }], f: (x) => tf.avgPool(x as tf.Tensor4D, 4, 4, "valid") },
  { name: "maxPool 2×2", inputs: [{ shape: [2, 8, 8, 3] }], f: (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, "valid") },
  { name: "maxPool 2×2 valid on odd sizes (cropped remainder)", inputs: [{ shape: [2, 7, 9, 3] }], f: (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, "valid") },
  { name: "maxPool 3×3 stride 2 same", inputs: [{ shape: [1, 9, 9, 2] }], f: (x) => tf.maxPool(x as tf.Tensor4D, 3, 2, "same") },
  { name: "maxPool all-negative windows", inputs: [{ shape: [2, 6, 6, 3], lo: -5, hi: -0.5 }], f: (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, "valid") },
  { name: "layer norm (moments, rsqrt)", inputs: [{ shape: [4, 10, 16] }, { shape: [16] }, { shape: [16] }], f: (x, g, b) => {
      const { mean, variance } = tf.moments(x!, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(x!, mean), tf.rsqrt(tf.add(variance, 1e-5))), g!), b!);
    } },
  { name: "gelu (erf)", inputs: [{ shape: [5, 17], lo: -3, hi: 3 }], f: erfGelu },
  // cluelab's fused ops: one kernel where the backend has one (native), the reference composition elsewhere
  { name: "fused layerNorm", inputs: [{ shape: [3, 5, 24], lo: -2, hi: 3 }, { shape: [24] }, { shape: [24] }], f: (x, g, b) => layerNorm(x!, g as tf.Tensor1D, b as tf.Tensor1D) },
  // Native short-row kernels (C = 16, 32, 48, 64; 16-row blocks): row counts not a multiple of the
  // block, odd C on the general path, and one case big enough to split into several gradient chunks.
  ...[16, 32, 48, 64, 21].map((c): ParityCase => ({
    name: `fused layerNorm C = ${c} (21 rows)`, inputs: [{ shape: [3, 7, c], lo: -2, hi: 3 }, { shape: [c] }, { shape: [c] }],
    f: (x, g, b) => layerNorm(x!, g as tf.Tensor1D, b as tf.Tensor1D),
  })),
  { name: "fused layerNorm C = 16, several chunks (2165 rows)", inputs: [{ shape: [5, 433, 16], lo: -2, hi: 3 }, { shape: [16] }, { shape: [16] }],
    f: (x, g, b) => layerNorm(x!, g as tf.Tensor1D, b as tf.Tensor1D) },
  // Two-output ops, both outputs side by side (each element its own upstream gradient).
  ...[16, 21].map((c): ParityCase => ({
    name: `fused layerNormTee C = ${c} (x passed through and normalised)`, inputs: [{ shape: [3, 7, c], lo: -2, hi: 3 }, { shape: [c] }, { shape: [c] }],
    f: (x, g, b) => tf.concat(layerNormTee(x!, g as tf.Tensor1D, b as tf.Tensor1D), -1),
  })),
  { name: "fused linearPair (two layers of one input, one without bias)", inputs: [{ shape: [2, 9, 17] }, { shape: [17, 5] }, { shape: [5] }, { shape: [17, 3] }],
    f: (x, w1, b1, w2) => tf.concat(linearPair(x!, w1 as tf.Tensor2D, b1 as tf.Tensor1D, w2 as tf.Tensor2D, null), -1) },
  { name: "fused linear (product + bias, own gradient)", inputs: [{ shape: [37, 12] }, { shape: [12, 5] }, { shape: [5] }], f: (x, w, b) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D) },
  { name: "fused linear on a 4-D map (33 rows)", inputs: [{ shape: [1, 3, 11, 16] }, { shape: [16, 17] }, { shape: [17] }], f: (x, w, b) => linear(x!, w as tf.Tensor2D, b as tf.Tensor1D) },
  { name: "fused linear without bias, 3-D", inputs: [{ shape: [2, 9, 17] }, { shape: [17, 1] }], f: (x, w) => linear(x!, w as tf.Tensor2D) },
  { name: "fused gelu", inputs: [{ shape: [6, 33], lo: -5, hi: 5 }], f: (x) => gelu(x!) },
  { name: "fused residual (layer scale, drop-path mask)", inputs: [{ shape: [4, 5, 3, 8] }, { shape: [4, 5, 3, 8] }, { shape: [8] }], f: (x, b, s) =>
      residual(x!, b!, s as tf.Tensor1D, new Float32Array([0, 4 / 3, 4 / 3, 0])) },
  { name: "fused conv2dBias 3×3 stride 2 pad 1 (bias in the epilogue)", inputs: [{ shape: [2, 9, 8, 5] }, { shape: [3, 3, 5, 7] }, { shape: [7] }], f: (x, w, b) =>
      conv2dBias(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, 2, 1) },
  { name: "fused depthwiseConv2dBias, 16·k channels (hand-written kernel)", inputs: [{ shape: [2, 9, 10, 32] }, { shape: [3, 3, 32, 1] }, { shape: [32] }], f: (x, w, b) =>
      depthwiseConv2dBias(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, 1, 1) },
  { name: "fused depthwiseConv2dBias, 3 channels (oneDNN)", inputs: [{ shape: [2, 7, 6, 3] }, { shape: [3, 3, 3, 1] }, { shape: [3] }], f: (x, w, b) =>
      depthwiseConv2dBias(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, 2, 1) },
  { name: "fused l2Normalize", inputs: [{ shape: [4, 6, 9] }], f: (x) => l2Normalize(x!) },
  // Native short-row gradient kernels (d = 16, 32, 64 at compile time; 16-row blocks): row counts not a
  // multiple of the block, odd d on the general path, and one case split over several chunks.
  ...[16, 32, 64, 9].map((d): ParityCase => ({ name: `fused l2Normalize d = ${d} (21 rows)`, inputs: [{ shape: [3, 7, d] }], f: (x) => l2Normalize(x!) })),
  { name: "fused l2Normalize d = 16, several chunks (2165 rows)", inputs: [{ shape: [5, 433, 16] }], f: (x) => l2Normalize(x!) },
  // Rows whose norm is below eps = 1e-12 divide by eps (forward and gradient): rows 2, 5, … scaled
  // by 1.5e-13 (norm ≈ eps/2, so a wrong branch is an O(1) error); exactly zero rows are
  // forward-only (the composition's sqrt has a 0/0 gradient there).
  ...[16, 32, 9].map((d): ParityCase => ({
    name: `fused l2Normalize d = ${d}, rows below eps`, inputs: [{ shape: [3, 7, d] }],
    f: (x) => l2Normalize(tf.mul(x!, tf.tensor3d(Array.from({ length: 21 }, (_, r) => (r % 3 === 2 ? 1.5e-13 : 1)), [3, 7, 1]))),
  })),
  ...[16, 32, 9].map((d): ParityCase => ({
    name: `fused l2Normalize d = ${d}, zero rows`, inputs: [{ shape: [3, 7, d] }], forwardOnly: true,
    f: (x) => l2Normalize(tf.mul(x!, tf.tensor3d(Array.from({ length: 21 }, (_, r) => (r % 4 === 1 ? 0 : 1)), [3, 7, 1]))),
  })),
  { name: "fused nearestCenter (forward)", inputs: [{ shape: [3, 40, 8] }, { shape: [3, 7, 8] }], f: (x, c) => nearestCenter(x as tf.Tensor3D, c as tf.Tensor3D), forwardOnly: true },
  { name: "fused clusterMean on nearestCenter (cluster pooling)", inputs: [{ shape: [2, 30, 6] }, { shape: [2, 5, 6] }], f: (x, c) => {
      const index = nearestCenter(x as tf.Tensor3D, c as tf.Tensor3D);
      return clusterMean(index, tf.mul(x!, 2) as tf.Tensor3D, c as tf.Tensor3D);
    } },
  { name: "fused softAggregate (attention of centers over pixels, dv ≠ d)", inputs: [{ shape: [3, 4, 8], lo: -3, hi: 3 }, { shape: [3, 45, 8] }, { shape: [3, 45, 5] }],
    f: (q, k, v) => softAggregate(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D) },
  { name: "fused clusterAssign + clusterDispatch (CLUENet's hard assignment, two dispatches of it)",
    inputs: [{ shape: [3, 21, 8] }, { shape: [3, 6, 8] }, { shape: [1], lo: 0.5, hi: 2 }, { shape: [1] }, { shape: [3, 6, 5] }], f: (k, c, a, b, v) => {
      const { index, score } = clusterAssign(l2Normalize(k!) as tf.Tensor3D, l2Normalize(c!) as tf.Tensor3D, a!, b!);
      return tf.add(clusterDispatch(index, score, v as tf.Tensor3D), tf.mul(clusterDispatch(index, score, tf.mul(v!, 0.5) as tf.Tensor3D), score.expandDims(2)));
    } },
  // Pixel operands as channels-last rows [B, N, heads·d] holding the heads·B groups (layout.heads), as CLUENet's mixer passes them.
  { name: "fused softAggregate, 2 heads in channels-last rows", inputs: [{ shape: [4, 3, 8], lo: -3, hi: 3 }, { shape: [2, 30, 16] }, { shape: [2, 30, 10] }],
    f: (q, k, v) => softAggregate(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, { heads: 2 }) },
  { name: "fused clusterAssign + clusterDispatch, 3 heads in channels-last rows",
    inputs: [{ shape: [2, 17, 12] }, { shape: [6, 5, 4] }, { shape: [1], lo: 0.5, hi: 2 }, { shape: [1] }, { shape: [6, 5, 3] }], f: (k, c, a, b, v) => {
      const keys = tf.reshape(l2Normalize(tf.reshape(k!, [2, 17 * 3, 4])), [2, 17, 12]) as tf.Tensor3D; // per head
      const { index, score } = clusterAssign(keys, l2Normalize(c!) as tf.Tensor3D, a!, b!, { heads: 3 });
      return tf.add(clusterDispatch(index, score, v as tf.Tensor3D, undefined, { heads: 3 }), tf.sum(score));
    } },
  { name: "sigmoid, tanh, exp, log", inputs: [{ shape: [6, 9], lo: 0.1, hi: 2 }], f: (x) => tf.add(tf.add(tf.sigmoid(x), tf.tanh(x)), tf.add(tf.exp(tf.mul(x, 0.3)), tf.log(x))) },
  { name: "softmax over pixels", inputs: [{ shape: [2, 4, 32], lo: -3, hi: 3 }], f: (x) => tf.softmax(x, -1) },
  { name: "logSoftmax + label smoothing loss", inputs: [{ shape: [8, 10], lo: -3, hi: 3 }], f: (x) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([0, 3, 9, 2, 5, 5, 1, 7], "int32"), 10), x!, undefined, 0.1) },
  { name: "cosine similarity (l2 normalise + batch matMul)", inputs: [{ shape: [2, 4, 8] }, { shape: [2, 12, 8] }], f: (c, k) => tf.matMul(l2norm(c!) as tf.Tensor3D, l2norm(k!) as tf.Tensor3D, false, true) },
  { name: "hard assignment: sigmoid(β+α·cos) · oneHot(argMax)", inputs: [{ shape: [2, 4, 12] }, { shape: [1] }, { shape: [1] }], f: (cos, a, b) => {
      const s = tf.sigmoid(tf.add(b!, tf.mul(a!, cos!)));
      const mask = tf.oneHot(tf.argMax(s, 1), 4).transpose([0, 2, 1]);
      return tf.mul(s, mask);
    } },
  { name: "argMax + oneHot (forward)", inputs: [{ shape: [3, 5, 7] }], f: (x) => tf.oneHot(tf.argMax(x, 1), 5), forwardOnly: true },
  { name: "gather rows (UnsortedSegmentSum gradient)", inputs: [{ shape: [6, 5] }], f: (x) => tf.gather(x, tf.tensor1d([0, 2, 2, 5, 1, 0, 3], "int32")) },
  { name: "gather axis 1", inputs: [{ shape: [3, 6, 4] }], f: (x) => tf.gather(x, tf.tensor1d([5, 0, 0, 2], "int32"), 1) },
  // (StridedSlice has no gradient in TensorFlow.js on any backend: models use slice.)
  { name: "concat, slice", inputs: [{ shape: [2, 6, 4] }, { shape: [2, 6, 3] }], f: (a, b) => {
      const c = tf.concat([a!, b!], -1);
      return tf.add(tf.slice(c, [0, 1, 2], [2, 3, 5]), tf.slice(c, [0, 3, 0], [2, 3, 5]));
    } },
  { name: "transpose of an int32 one-hot mask", inputs: [{ shape: [2, 6, 40] }], f: (x) => tf.transpose(tf.oneHot(tf.argMax(x, 1), 6), [0, 2, 1]), forwardOnly: true },
  { name: "pad, transpose, reshape, broadcast mul", inputs: [{ shape: [2, 3, 4, 5] }, { shape: [5] }], f: (x, s) =>
      tf.reshape(tf.transpose(tf.mul(tf.pad(x!, [[0, 0], [1, 1], [0, 2], [0, 0]]), s!), [0, 3, 1, 2]), [2, 5, 30]) },
  { name: "reductions: mean, sum, max", inputs: [{ shape: [4, 7, 3] }], f: (x) => tf.add(tf.add(tf.mean(x, 1), tf.sum(x, 1)), tf.max(x, 1)) },
  { name: "unsortedSegmentSum (scatter by one-hot)", inputs: [{ shape: [8, 3] }], f: (x) => tf.unsortedSegmentSum(x, tf.tensor1d([0, 2, 1, 2, 3, 0, -1, 1], "int32"), 4) },
];

/** Creates a case's input tensors from its seeded values. */
export function makeInputs(c: ParityCase, caseIndex: number): tf.Tensor[] {
  return c.inputs.map((spec, j) =>
    tf.tensor(seeded(spec.shape.reduce((p, q) => p * q, 1), 1000 * caseIndex + j + 1, spec.lo ?? -1, spec.hi ?? 1), spec.shape),
  );
}

/**
 * The output and the gradient of Σ(output · w) w.r.t. every input, w a fixed seeded weighting,
 * so every output element's upstream gradient differs.
 */
export function forwardAndGradients(c: ParityCase, caseIndex: number): tf.Tensor[] {
  return tf.tidy(() => {
    const xs = makeInputs(c, caseIndex);
    const out = c.f(...xs);
    if (c.forwardOnly) return [out];
    const w = tf.tensor(seeded(out.size, 77 + caseIndex, 0.5, 1.5), out.shape);
    const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(c.f(...args), w)))(xs);
    return [out, ...grads];
  });
}
