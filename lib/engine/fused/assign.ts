/**
 * CLUENet's hard assignment and dispatch: each pixel joins the center whose score
 * sigmoid(β + α·cos) is highest, keeping that score, and receives that center scaled by it. The
 * compositions hold the scores of every pixel for every center and multiply with the one-hot
 * matrix of the winners (O(N·M·d) both ways, a dozen kernels); the kernels keep one score per
 * pixel and gather and scatter the winners' rows (O(N·d), except the assignment's scan of M).
 */
import { tf } from "../tf.js";
import { declareSaveOnlyOutputs } from "../tape-saves.js";
import { runKernels, useKernel } from "./dispatch.js";
import { headsOf, mergeHeads, splitHeads, type HeadsLayout } from "./heads.js";
import { CLUSTER_ASSIGN, CLUSTER_ASSIGN_GRAD, CLUSTER_DISPATCH, CLUSTER_DISPATCH_GRAD } from "./names.js";

/** Each pixel's center and its score there (what {@link clusterDispatch} and cluster maps use). */
export interface ClusterAssignment {
  /** int32 [G, N]: each pixel's center; ties go to the lowest index (argmax, PyTorch's max). */
  index: tf.Tensor2D;
  /** [G, N]: sigmoid(β + α·cos) at that center (differentiable). */
  score: tf.Tensor2D;
  /**
   * [G, N, M]: the score at each pixel's center, 0 elsewhere — present only where the
   * composition computed it (backends without the kernels), so dispatching there multiplies with
   * it as before instead of building it again.
   */
  weights?: tf.Tensor3D;
}

/**
 * Hard assignment by cosine similarity: for normalised keys [G, N, d] and normalised centers
 * [G, M, d] (G independent groups), each pixel's center index = argmax_m sigmoid(β + α·keys[n]·centers[m])
 * — the argmax of the sigmoid, so with α < 0 the least similar center, and centers whose sigmoids
 * round to one value tie (the first wins) — and score = that sigmoid. α and β are float32 tensors
 * of one element. Differentiable in keys, centers, α and β through the score; no gradient flows
 * through the choice. One kernel each way on backends that have one; the composition
 * {@link referenceClusterAssign} elsewhere. With `layout.heads` (H > 1), keys [B, N, H·d] are
 * channels-last rows holding the G = H·B groups ({@link HeadsLayout}; their gradient comes back
 * alike); the index and score stay [G, N].
 */
export function clusterAssign(keys: tf.Tensor3D, centers: tf.Tensor3D, alpha: tf.Tensor, beta: tf.Tensor, layout?: HeadsLayout): ClusterAssignment {
  const heads = checkAssign(keys, centers, alpha, beta, layout);
  if (!useKernel(CLUSTER_ASSIGN, assignGradient)) return referenceClusterAssign(keys, centers, alpha, beta, layout);
  const [index, score, cos] = runKernels(CLUSTER_ASSIGN, { keys, centers, alpha, beta }, { heads });
  tf.dispose(cos!);
  return { index: index as tf.Tensor2D, score: score as tf.Tensor2D };
}

/**
 * The composition {@link clusterAssign} stands for, as CLUENet's mixer spelled it: the scores of
 * every center, their argmax (index 0 without a choice when M = 1), and the winner's score kept
 * by the one-hot mask (a sum over a row with one non-zero: exact); channels-last keys are split
 * into their groups first.
 */
export function referenceClusterAssign(keys: tf.Tensor3D, centers: tf.Tensor3D, alpha: tf.Tensor, beta: tf.Tensor, layout?: HeadsLayout): ClusterAssignment {
  const heads = checkAssign(keys, centers, alpha, beta, layout);
  return tf.tidy(() => {
    const grouped = splitHeads(keys, keys.shape[0], keys.shape[1], heads, centers.shape[2]);
    const sim = tf.sigmoid(tf.add(beta, tf.mul(alpha, tf.matMul(grouped, centers, false, true)))) as tf.Tensor3D;
    const [g, n, m] = sim.shape;
    if (m === 1) return { index: tf.zeros([g, n], "int32") as tf.Tensor2D, score: tf.reshape(sim, [g, n]) as tf.Tensor2D, weights: sim };
    const index = tf.argMax(sim, 2) as tf.Tensor2D;
    // int32 one-hot then a cast: wasm's OneHot (tfjs 4.22) ignores dtype "float32" and writes int bits
    const weights = tf.mul(sim, tf.cast(tf.oneHot(index, m), "float32")) as tf.Tensor3D;
    return { index, score: tf.sum(weights, 2) as tf.Tensor2D, weights };
  });
}

/**
 * Hard dispatch: out[g, n] = score[g, n]·centers[g, index[g, n]] for index int32 [G, N], score
 * [G, N] and centers [G, M, d] → [G, N, d] (the product of the score-weighted one-hot matrix
 * with the centers). Differentiable in score and centers. `weights`, that matrix [G, N, M] where
 * the caller has it ({@link ClusterAssignment.weights}), is what the composition then multiplies
 * with (its gradient reaches the score through it); the kernel does not need it. With
 * `layout.heads` (H > 1) the output is channels-last rows [B, N, H·d] ({@link HeadsLayout}), and
 * so is its upstream gradient.
 */
export function clusterDispatch(index: tf.Tensor2D, score: tf.Tensor2D, centers: tf.Tensor3D, weights?: tf.Tensor3D, layout?: HeadsLayout): tf.Tensor3D {
  const heads = checkDispatch(index, score, centers, weights, layout);
  if (!useKernel(CLUSTER_DISPATCH, dispatchGradient)) return referenceClusterDispatch(index, score, centers, weights, layout);
  return tf.engine().runKernel(CLUSTER_DISPATCH, { index, score, centers }, { heads }) as tf.Tensor3D;
}

/**
 * The composition {@link clusterDispatch} stands for: the score-weighted one-hot matrix times the
 * centers, merged into channels-last rows where `layout.heads` > 1.
 */
export function referenceClusterDispatch(index: tf.Tensor2D, score: tf.Tensor2D, centers: tf.Tensor3D, weights?: tf.Tensor3D,
  layout?: HeadsLayout): tf.Tensor3D {
  const heads = checkDispatch(index, score, centers, weights, layout);
  return tf.tidy(() => {
    const [g, m, d] = centers.shape;
    const n = index.shape[1];
    const out = tf.matMul(weights ?? dispatchMatrix(index, score, m), centers) as tf.Tensor3D;
    return mergeHeads(out, g / heads, n, heads, d);
  });
}

/**
 * The dense dispatch matrix S [G, N, M] of index int32 [G, N] and score [G, N]: each pixel's
 * score at its center, 0 elsewhere (what the composition multiplies with; cluster maps show it).
 */
export function dispatchMatrix(index: tf.Tensor2D, score: tf.Tensor2D, m: number): tf.Tensor3D {
  return tf.tidy(() => {
    const s = tf.expandDims(score, 2) as tf.Tensor3D;
    // One center (tf.oneHot wants depth 2 or more): every pixel's row of S is its score. Else an
    // int32 one-hot then a cast: wasm's OneHot (tfjs 4.22) ignores dtype "float32".
    return m === 1 ? s : (tf.mul(tf.cast(tf.oneHot(index, m), "float32"), s) as tf.Tensor3D);
  });
}

const shapeOf = (t: tf.Tensor) => JSON.stringify(t.shape);

/** Checks the operands; returns the heads. */
function checkAssign(keys: tf.Tensor, centers: tf.Tensor, alpha: tf.Tensor, beta: tf.Tensor, layout: HeadsLayout | undefined): number {
  const heads = headsOf("clusterAssign", layout);
  if (keys.rank !== 3 || centers.rank !== 3 || centers.shape[0] !== heads * keys.shape[0]! || heads * centers.shape[2]! !== keys.shape[2]) {
    throw new Error(heads === 1
      ? `clusterAssign: keys ${shapeOf(keys)} and centers ${shapeOf(centers)} must be [G, N, d] and [G, M, d]`
      : `clusterAssign: keys ${shapeOf(keys)} and centers ${shapeOf(centers)} must be [B, N, ${heads}·d] and [${heads}·B, M, d] for ${heads} heads`);
  }
  if (centers.shape[1] === 0) throw new Error(`clusterAssign: centers ${shapeOf(centers)} has no center to assign to (M = 0)`);
  if (alpha.size !== 1 || beta.size !== 1) {
    throw new Error(`clusterAssign: alpha ${shapeOf(alpha)} and beta ${shapeOf(beta)} must hold one number each (shape [] or [1])`);
  }
  const dtypes = [keys, centers, alpha, beta].map((t) => t.dtype);
  if (dtypes.some((d) => d !== "float32")) throw new Error(`clusterAssign: keys, centers, alpha and beta must be float32 (got ${dtypes.join(", ")})`);
  return heads;
}

/** Checks the operands; returns the heads. */
function checkDispatch(index: tf.Tensor, score: tf.Tensor, centers: tf.Tensor, weights: tf.Tensor | undefined, layout: HeadsLayout | undefined): number {
  const heads = headsOf("clusterDispatch", layout);
  if (index.rank !== 2 || !tf.util.arraysEqual(score.shape, index.shape) || centers.rank !== 3 || centers.shape[0] !== index.shape[0]) {
    throw new Error(`clusterDispatch: index ${shapeOf(index)}, score ${shapeOf(score)} and centers ${shapeOf(centers)} must be [G, N], [G, N] and [G, M, d]`);
  }
  if (centers.shape[0]! % heads !== 0) throw new Error(`clusterDispatch: the groups of centers ${shapeOf(centers)} must be ${heads}·B for ${heads} heads`);
  if (weights && !tf.util.arraysEqual(weights.shape, [...index.shape, centers.shape[1]!])) {
    throw new Error(`clusterDispatch: weights ${shapeOf(weights)} must be [G, N, M] = ${JSON.stringify([...index.shape, centers.shape[1]])}`);
  }
  if (index.dtype !== "int32") throw new Error(`clusterDispatch: index must be int32, got ${index.dtype}`);
  if (score.dtype !== "float32" || centers.dtype !== "float32") {
    throw new Error(`clusterDispatch: score and centers must be float32 (got ${score.dtype}, ${centers.dtype})`);
  }
  return heads;
}

// index and cos are saves for the gradient (index is int32), never differentiated: no zero
// gradients for them.
declareSaveOnlyOutputs(CLUSTER_ASSIGN, [true, false, true]);

const assignGradient = (): tf.GradConfig => ({
  kernelName: CLUSTER_ASSIGN,
  inputsToSave: ["keys", "centers", "alpha", "beta"],
  outputsToSave: [true, true, true],
  gradFunc: (dy, saved, attrs) => {
    const [keys, centers, alpha, beta, index, score, cos] = saved as tf.Tensor[];
    // Upstream gradients per output (index, score, cos); only the score is differentiable.
    const dscore = (dy as Array<tf.Tensor | null>)[1] ?? tf.zerosLike(score!);
    // One kernel gives all four gradients, run here and not inside the per-input closures: tfjs
    // runs each closure in its own tidy, which would dispose the others.
    const [dkeys, dcenters, dalpha, dbeta] = runKernels(CLUSTER_ASSIGN_GRAD, {
      dscore, index: index!, score: score!, cos: cos!, keys: keys!, centers: centers!, alpha: alpha!,
    }, attrs);
    return {
      keys: () => dkeys!,
      centers: () => dcenters!,
      // A kernel giving them in their parameters' shapes needs no Reshape.
      alpha: () => (tf.util.arraysEqual(dalpha!.shape, alpha!.shape) ? dalpha! : tf.reshape(dalpha!, alpha!.shape)),
      beta: () => (tf.util.arraysEqual(dbeta!.shape, beta!.shape) ? dbeta! : tf.reshape(dbeta!, beta!.shape)),
    };
  },
});

const dispatchGradient = (): tf.GradConfig => ({
  kernelName: CLUSTER_DISPATCH,
  inputsToSave: ["index", "score", "centers"],
  gradFunc: (dy, saved, attrs) => {
    const [index, score, centers] = saved as tf.Tensor[];
    const [dscore, dcenters] = runKernels(CLUSTER_DISPATCH_GRAD, { dy: dy as tf.Tensor, index: index!, score: score!, centers: centers! }, attrs);
    // tfjs wants float gradients even for an int32 input; the index has none.
    return { index: () => tf.zeros(index!.shape), score: () => dscore!, centers: () => dcenters! };
  },
});
