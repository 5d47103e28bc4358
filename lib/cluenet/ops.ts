/**
 * The hot path of cluster attention, as a few pure functions so an engine-level fused kernel can
 * replace each one: cosine soft aggregation, hard assignment (argmax + one-hot, or the winners
 * only), dispatch, and hard aggregation. Shapes use G = heads·batch independent groups, N pixels,
 * M centers, d channels.
 */
import {
  clusterAssign, clusterDispatch, dispatchMatrix, l2Normalize, mergeHeads, softAggregate as attend, tf, type ClusterAssignment, type HeadsLayout,
} from "../engine/index.js";

// x / max(‖x‖₂, 1e-12) over the last axis (PyTorch's F.normalize): one kernel where the engine has one.
export { l2Normalize };

/**
 * Global soft aggregation: Ca[m] = Σ_n softmax_n(q[m]·k[n]) v[n] over all N pixels (exact fp32
 * attention). `q` [G, M, d] are the centers already normalised and scaled by 1/τ, `k` [G, N, d]
 * the normalised pixel keys, `v` [G, N, d] the values. Returns [G, M, d]. The engine's fused op:
 * one kernel each way where the backend has one, without the [G, M, N] scores in memory. With
 * `layout.heads` > 1, k and v are the channels-last rows [B, N, heads·d] of the G = heads·B groups.
 */
export function softAggregate(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, layout?: HeadsLayout): tf.Tensor3D {
  return attend(q, k, v, layout);
}

/** One-hot of each pixel's best center and the index itself. */
export interface HardAssignment {
  /** [G, N, M] 1 at the winning center, 0 elsewhere. */
  mask: tf.Tensor3D;
  /** int32 [G, N]: the winning center; ties go to the lowest index, as PyTorch's max(dim). */
  index: tf.Tensor2D;
}

/**
 * Assigns each pixel to its highest-scoring center: scores [G, N, M] → one-hot mask and index.
 * `penalty` [N, M] (0 where allowed, a large negative number elsewhere) restricts each pixel to
 * the centers of its own fold region. No gradient flows through the choice.
 */
export function hardAssign(scores: tf.Tensor3D, penalty?: tf.Tensor2D): HardAssignment {
  return tf.tidy(() => {
    const [g, n, m] = scores.shape;
    if (m === 1) return { mask: tf.ones([g, n, 1]) as tf.Tensor3D, index: tf.zeros([g, n], "int32") as tf.Tensor2D };
    const index = tf.argMax(penalty ? tf.add(scores, penalty) : scores, 2) as tf.Tensor2D;
    // int32 one-hot then a cast: wasm's OneHot (tfjs 4.22) ignores dtype "float32" and writes int bits
    return { mask: tf.cast(tf.oneHot(index, m), "float32") as tf.Tensor3D, index };
  });
}

/**
 * CLUENet's similarity assignment: each pixel's center by sigmoid(β + α·cos(k[n], centers[m]))
 * (argmax, ties to the lowest index) and its score there. `kNormalised` [G, N, d] are the
 * normalised pixel keys (with `layout.heads` > 1 their channels-last rows [B, N, heads·d]),
 * `centers` [G, M, d] the (unnormalised) centers, α and β [1]; the assignment is [G, N].
 */
export function cosineAssign(kNormalised: tf.Tensor3D, centers: tf.Tensor3D, alpha: tf.Tensor, beta: tf.Tensor, layout?: HeadsLayout): ClusterAssignment {
  const [index, score, weights] = tf.tidy(() => {
    const a = clusterAssign(kNormalised, l2Normalize(centers), alpha, beta, layout);
    return a.weights ? [a.index, a.score, a.weights] : [a.index, a.score];
  });
  return { index: index as tf.Tensor2D, score: score as tf.Tensor2D, ...(weights ? { weights: weights as tf.Tensor3D } : {}) };
}

/**
 * Hard & shared feature dispatching: out[n] = score[n]·centers[index[n]] (the product of the
 * score-weighted one-hot assignment with the centers); centers [G, M, d] → [G, N, d], or with
 * `layout.heads` > 1 the channels-last rows [B, N, heads·d]. Takes an assignment
 * ({@link cosineAssign}), or a dense dispatch matrix S [G, N, M] (a product S·centers, as a
 * step-by-step walkthrough builds it).
 */
export function dispatch(assignment: ClusterAssignment | tf.Tensor3D, centers: tf.Tensor3D, layout?: HeadsLayout): tf.Tensor3D {
  if (assignment instanceof tf.Tensor) {
    const [g, n] = assignment.shape, heads = layout?.heads ?? 1;
    return tf.tidy(() => mergeHeads(tf.matMul(assignment, centers), g / heads, n, heads, centers.shape[2]));
  }
  return clusterDispatch(assignment.index, assignment.score, centers, assignment.weights, layout);
}

/** The dense dispatch matrix S [G, N, M] of an assignment: each pixel's score at its center, 0 elsewhere (for cluster maps). */
export function assignmentMatrix(assignment: ClusterAssignment, m: number): tf.Tensor3D {
  return dispatchMatrix(assignment.index, assignment.score, m);
}

/**
 * Hard aggregation into centers (Context Clusters, FEC and Improved Cluster Pooling):
 * c'[m] = (Σ_n A[n, m]·v[n] + c[m]) / (Σ_n A[n, m] + 1), the scatter-sum written as a product
 * with the (weighted) one-hot matrix A [G, N, M]; v [G, N, d], c [G, M, d] → [G, M, d].
 */
export function hardAggregate(A: tf.Tensor3D, v: tf.Tensor3D, c: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const sums = tf.matMul(A, v, true, false);
    const weight = tf.add(tf.transpose(tf.sum(A, 1, true), [0, 2, 1]), 1);
    return tf.div(tf.add(sums, c), weight);
  });
}

/** Cosine similarity of every pixel with every center: [G, N, M] from normalised k [G, N, d] and centers [G, M, d]. */
export function cosineToCenters(kNormalised: tf.Tensor3D, centers: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => tf.matMul(kNormalised, l2Normalize(centers), false, true));
}
