/** Soft aggregation of points into centers by attention (CLUENet's global soft aggregation). */
import { tf } from "../tf.js";
import { declareSaveOnlyOutputs } from "../tape-saves.js";
import { runKernels, useKernel } from "./dispatch.js";
import { headsOf, splitHeads, type HeadsLayout } from "./heads.js";
import { SOFT_AGGREGATE, SOFT_AGGREGATE_GRAD } from "./names.js";

/**
 * Attention of M queries over N keys in each of G independent groups:
 * out[g, m] = Σ_n softmax_n(q[g, m]·k[g, n]) v[g, n], exact fp32 (softmax with its max
 * subtracted). q [G, M, d], k [G, N, d], v [G, N, dv] → [G, M, dv]; any scale (a temperature)
 * goes into q. Differentiable in all three. One kernel each way on backends that have one, which
 * never writes the [G, M, N] scores to memory; the composition {@link referenceSoftAggregate}
 * elsewhere. With `layout.heads` (H > 1), k [B, N, H·d] and v [B, N, H·dv] are channels-last
 * rows holding the G = H·B groups ({@link HeadsLayout}); their gradients come back alike.
 */
export function softAggregate(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, layout?: HeadsLayout): tf.Tensor3D {
  const heads = checkSoftAggregate(q, k, v, layout);
  // No pixels: the composition's empty softmax gives zeros, which the kernel leaves to it.
  if (k.shape[1] === 0 || !useKernel(SOFT_AGGREGATE, softAggregateGradient)) return referenceSoftAggregate(q, k, v, layout);
  const [out, stats] = runKernels(SOFT_AGGREGATE, { q, k, v }, { heads });
  tf.dispose(stats!);
  return out as tf.Tensor3D;
}

/**
 * The composition {@link softAggregate} stands for: matMul(softmax(matMul(q, kᵀ)), v), after
 * splitting channels-last k and v into their groups where `layout.heads` > 1.
 */
export function referenceSoftAggregate(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, layout?: HeadsLayout): tf.Tensor3D {
  const heads = checkSoftAggregate(q, k, v, layout);
  return tf.tidy(() => {
    const [b, n] = k.shape;
    const kg = splitHeads(k, b, n, heads, q.shape[2]), vg = splitHeads(v, b, n, heads, v.shape[2] / heads);
    return tf.matMul(tf.softmax(tf.matMul(q, kg, false, true)), vg);
  });
}

/** Checks the operands; returns the heads. */
function checkSoftAggregate(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, layout: HeadsLayout | undefined): number {
  const s = (t: tf.Tensor) => JSON.stringify(t.shape);
  const heads = headsOf("softAggregate", layout);
  if (q.rank !== 3 || k.rank !== 3 || v.rank !== 3) {
    throw new Error(`softAggregate: q ${s(q)}, k ${s(k)} and v ${s(v)} must all be rank 3: [groups, centers, d], [groups, pixels, d], [groups, pixels, dv]`);
  }
  const [g, , d] = q.shape as [number, number, number];
  if (heads > 1) {
    if (g % heads !== 0 || k.shape[0] !== g / heads || k.shape[2] !== heads * d) {
      throw new Error(`softAggregate: q ${s(q)} must be [${heads}·B, M, d] and k ${s(k)} [B, N, ${heads}·d] for ${heads} heads (channels-last rows)`);
    }
    if (v.shape[0] !== k.shape[0] || v.shape[1] !== k.shape[1] || v.shape[2]! % heads !== 0) {
      throw new Error(`softAggregate: v ${s(v)} must be [${k.shape[0]}, ${k.shape[1]}, ${heads}·dv]: one value per key of k ${s(k)}, in ${heads} heads`);
    }
  } else {
    if (k.shape[0] !== g || k.shape[2] !== d) {
      throw new Error(`softAggregate: k ${s(k)} must be [${g}, N, ${d}]: the groups and channels of q ${s(q)}`);
    }
    if (v.shape[0] !== g || v.shape[1] !== k.shape[1]) {
      throw new Error(`softAggregate: v ${s(v)} must be [${g}, ${k.shape[1]}, dv]: one value per key of k ${s(k)}`);
    }
  }
  if (q.dtype !== "float32" || k.dtype !== "float32" || v.dtype !== "float32") {
    throw new Error(`softAggregate: q, k and v must be float32 (got ${q.dtype}, ${k.dtype}, ${v.dtype}); cast them first`);
  }
  return heads;
}

// stats are saves for the gradient, never differentiated: no zero gradient for them.
declareSaveOnlyOutputs(SOFT_AGGREGATE, [false, true]);

const softAggregateGradient = (): tf.GradConfig => ({
  kernelName: SOFT_AGGREGATE,
  inputsToSave: ["q", "k", "v"],
  outputsToSave: [true, true],
  gradFunc: (dy, saved, attrs) => {
    const [q, k, v, out, stats] = saved as tf.Tensor[];
    const upstream = Array.isArray(dy) ? dy[0]! : dy;
    // One kernel gives all three gradients, run here and not inside the per-input closures: tfjs
    // runs each closure in its own tidy, which would dispose the others.
    const [dq, dk, dv] = runKernels(SOFT_AGGREGATE_GRAD, { dy: upstream, q: q!, k: k!, v: v!, out: out!, stats: stats! }, attrs);
    return { q: () => dq!, k: () => dk!, v: () => dv! };
  },
});
