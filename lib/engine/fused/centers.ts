/**
 * Cluster centers: the temperature-scaled normalisation of pooled keys and the gated mix of two
 * center estimates. Each is a dozen tiny ops as a composition (scalars, [G, M, 1] gates) and
 * twice that in its gradient; one kernel each way where the backend has them.
 */
import { tf } from "../tf.js";
import { gelu } from "./activation.js";
import { runKernels, useKernel } from "./dispatch.js";
import { headsOf, splitHeads, type HeadsLayout } from "./heads.js";
import { GATED_MIX, GATED_MIX_GRAD, TEMPERED_NORMALIZE, TEMPERED_NORMALIZE_GRAD } from "./names.js";
import { l2Normalize } from "./norm.js";

const s = (t: tf.Tensor) => JSON.stringify(t.shape);

/**
 * x / max(‖x‖₂, ε) / τ over the last axis with the temperature τ = exp(max(logTemperature,
 * minLogTemperature)): cosine-similarity queries with a learnable temperature bounded below
 * (CLUENet's attn_alpha). Differentiable in x and logTemperature (a scalar; its gradient flows
 * where logTemperature ≥ minLogTemperature, as tf.maximum's does). With `layout.heads` H > 1, x
 * is channels-last rows [B, M, H·d] and the result the groups [H·B, M, d] ({@link HeadsLayout}):
 * the split into heads happens on the way; x's gradient comes back in rows.
 */
export function temperedL2Normalize<T extends tf.Tensor>(x: T, logTemperature: tf.Scalar, minLogTemperature: number, layout?: HeadsLayout): T {
  const heads = checkTempered(x, logTemperature, minLogTemperature, layout);
  if (x.size === 0 || !useKernel(TEMPERED_NORMALIZE, temperedGradient)) return referenceTemperedL2Normalize(x, logTemperature, minLogTemperature, layout);
  return tf.engine().runKernel(TEMPERED_NORMALIZE, { x, logTemperature }, { minLogTemperature, heads }) as T;
}

/** The composition {@link temperedL2Normalize} stands for (after splitting rows into heads where `layout.heads` > 1). */
export function referenceTemperedL2Normalize<T extends tf.Tensor>(x: T, logTemperature: tf.Scalar, minLogTemperature: number, layout?: HeadsLayout): T {
  const heads = checkTempered(x, logTemperature, minLogTemperature, layout);
  return tf.tidy(() => {
    const [b, m, hd] = x.shape as [number, number, number];
    const groups = heads > 1 ? splitHeads(x, b, m, heads, hd / heads) : x;
    return tf.mul(l2Normalize(groups), tf.div(1, tf.exp(tf.maximum(logTemperature, minLogTemperature)))) as T;
  });
}

/** Checks the operands; returns the heads. */
function checkTempered(x: tf.Tensor, logTemperature: tf.Tensor, floor: number, layout: HeadsLayout | undefined): number {
  const heads = headsOf("temperedL2Normalize", layout);
  if (heads > 1 && (x.rank !== 3 || x.shape[2]! % heads !== 0)) {
    throw new Error(`temperedL2Normalize: x ${s(x)} must be channels-last rows [B, M, ${heads}·d] for ${heads} heads`);
  }
  if (logTemperature.rank !== 0) throw new Error(`temperedL2Normalize: logTemperature must be a scalar, got shape ${s(logTemperature)}`);
  if (x.dtype !== "float32" || logTemperature.dtype !== "float32") {
    throw new Error(`temperedL2Normalize: x and logTemperature must be float32 (got ${x.dtype}, ${logTemperature.dtype}); cast them first`);
  }
  if (x.rank < 1) throw new Error("temperedL2Normalize: x must have at least one axis (rows over the last)");
  if (!Number.isFinite(floor)) throw new Error(`temperedL2Normalize: minLogTemperature must be a finite number, got ${floor}`);
  return heads;
}

const temperedGradient = (): tf.GradConfig => ({
  kernelName: TEMPERED_NORMALIZE,
  inputsToSave: ["x", "logTemperature"],
  gradFunc: (dy, saved, attrs) => {
    const [x, logTemperature] = saved as tf.Tensor[];
    const [dx, dt] = runKernels(TEMPERED_NORMALIZE_GRAD, { dy: dy as tf.Tensor, x: x!, logTemperature: logTemperature! }, attrs as tf.NamedAttrMap);
    return { x: () => dx!, logTemperature: () => dt! };
  },
});

/** The weights of {@link gatedMix}'s gate: one small MLP per head, as GroupLinear stores them. */
export interface GateWeights {
  /** [heads, 2d, hidden]: rows 0…d−1 act on `a`, d…2d−1 on `p`. */
  w1: tf.Tensor3D;
  /** [heads, 1, hidden] */
  b1: tf.Tensor3D;
  /** [heads, hidden, 1] */
  w2: tf.Tensor3D;
  /** [heads, 1, 1] */
  b2: tf.Tensor3D;
}

/**
 * (1 − g)·a + g·p for two estimates a, p [heads·B, M, d] of the same centers (group h·B + b is
 * head h), with one gate per center g = sigmoid(gelu([a; p]·W1 + b1)·w2 + b2) from head h's
 * weights (CLUENet's multi-head gate mixing aggregated and pooled centers). Differentiable in
 * every input. With `layout.heads` (the weights' heads), p is channels-last rows [B, M, heads·d]
 * ({@link HeadsLayout}) and its gradient comes back so. One kernel each way on backends that have
 * one; {@link referenceGatedMix} elsewhere.
 */
export function gatedMix(a: tf.Tensor3D, p: tf.Tensor3D, weights: GateWeights, layout?: HeadsLayout): tf.Tensor3D {
  const pRows = checkGatedMix(a, p, weights, layout);
  if (a.size === 0 || !useKernel(GATED_MIX, gatedMixGradient)) return referenceGatedMix(a, p, weights, layout);
  const { w1, b1, w2, b2 } = weights;
  return tf.engine().runKernel(GATED_MIX, { a, p, w1, b1, w2, b2 }, { pRows }) as tf.Tensor3D;
}

/** The composition {@link gatedMix} stands for (after splitting p's rows into heads where `layout.heads` > 1). */
export function referenceGatedMix(a: tf.Tensor3D, p: tf.Tensor3D, weights: GateWeights, layout?: HeadsLayout): tf.Tensor3D {
  const pRows = checkGatedMix(a, p, weights, layout);
  const { w1, b1, w2, b2 } = weights;
  return tf.tidy(() => {
    const [g, m, d] = a.shape;
    const heads = w1.shape[0];
    const rows = (g / heads) * m;
    if (pRows) p = splitHeads(p, g / heads, m, heads, d);
    const x = tf.concat([tf.reshape(a, [heads, rows, d]), tf.reshape(p, [heads, rows, d])], 2);
    const hidden = gelu(tf.add(tf.matMul(x, w1), b1));
    const gate = tf.reshape(tf.sigmoid(tf.add(tf.matMul(hidden, w2), b2)), [g, m, 1]);
    return tf.add(tf.mul(tf.sub(1, gate), a), tf.mul(gate, p)) as tf.Tensor3D;
  });
}

/** Checks the operands; returns whether p is in channels-last rows. */
function checkGatedMix(a: tf.Tensor3D, p: tf.Tensor3D, { w1, b1, w2, b2 }: GateWeights, layout: HeadsLayout | undefined): boolean {
  const rowsHeads = headsOf("gatedMix", layout);
  const [g, m, d] = a.shape;
  const [heads, twoD, hidden] = w1.shape;
  if (rowsHeads > 1) {
    if (rowsHeads !== heads) throw new Error(`gatedMix: layout.heads ${rowsHeads} must be the weights' heads (w1 ${s(w1)})`);
    if (a.rank !== 3 || p.rank !== 3 || s(p) !== JSON.stringify([g / heads, m, heads * d])) {
      throw new Error(`gatedMix: with ${heads} heads p ${s(p)} must be channels-last rows [${g / heads}, ${m}, ${heads * d}] for a ${s(a)}`);
    }
  } else if (a.rank !== 3 || p.rank !== 3 || s(a) !== s(p)) throw new Error(`gatedMix: a ${s(a)} and p ${s(p)} must both be [heads·B, M, d]`);
  if (w1.rank !== 3 || twoD !== 2 * d || g % heads !== 0) {
    throw new Error(`gatedMix: w1 ${s(w1)} must be [heads, ${2 * d}, hidden] with heads dividing the ${g} groups of a ${s(a)}`);
  }
  const expect = (t: tf.Tensor, name: string, shape: number[]) => {
    if (s(t) !== JSON.stringify(shape)) throw new Error(`gatedMix: ${name} ${s(t)} must be ${JSON.stringify(shape)} for w1 ${s(w1)}`);
  };
  expect(b1, "b1", [heads, 1, hidden]);
  expect(w2, "w2", [heads, hidden, 1]);
  expect(b2, "b2", [heads, 1, 1]);
  for (const t of [a, p, w1, b1, w2, b2]) {
    if (t.dtype !== "float32") throw new Error(`gatedMix: every operand must be float32, got ${t.dtype}; cast it first`);
  }
  return rowsHeads > 1;
}

const gatedMixGradient = (): tf.GradConfig => ({
  kernelName: GATED_MIX,
  inputsToSave: ["a", "p", "w1", "b1", "w2", "b2"],
  gradFunc: (dy, saved, attrs) => {
    const [a, p, w1, b1, w2, b2] = saved as tf.Tensor[];
    // One kernel gives every gradient, run here and not inside the per-input closures: tfjs runs
    // each closure in its own tidy, which would dispose the others.
    const [da, dp, dw1, db1, dw2, db2] = runKernels(GATED_MIX_GRAD, { dy: dy as tf.Tensor, a: a!, p: p!, w1: w1!, b1: b1!, w2: w2!, b2: b2! }, attrs as tf.NamedAttrMap);
    return { a: () => da!, p: () => dp!, w1: () => dw1!, b1: () => db1!, w2: () => dw2!, b2: () => db2! };
  },
});
