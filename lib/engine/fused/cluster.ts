/**
 * Hard clustering of points to centers, the hot path of cluster pooling: each point's nearest
 * center by cosine similarity, and each center's mean with its members. The compositions build a
 * [points × centers] one-hot matrix and multiply with it (O(N·M·d)); the kernels scatter and
 * gather (O(N·d)).
 */
import { tf } from "../tf.js";
import { declareSaveOnlyOutputs } from "../tape-saves.js";
import { runKernels, useKernel } from "./dispatch.js";
import { CLUSTER_MEAN, CLUSTER_MEAN_GRAD, NEAREST_CENTER } from "./names.js";
import { referenceL2Normalize } from "./norm.js";

/**
 * For points x [G, N, d] and centers [G, M, d] (G independent groups), the index int32 [G, N] of
 * each point's most cosine-similar center; ties go to the lowest index (argmax). No gradient flows
 * through the choice.
 */
export function nearestCenter(x: tf.Tensor3D, centers: tf.Tensor3D): tf.Tensor2D {
  const [g, , d] = x.shape;
  if (centers.rank !== 3 || centers.shape[0] !== g || centers.shape[2] !== d) {
    throw new Error(`nearestCenter: centers ${JSON.stringify(centers.shape)} must be [${g}, M, ${d}] for points ${JSON.stringify(x.shape)}`);
  }
  if (!useKernel(NEAREST_CENTER, nearestCenterGradient)) return referenceNearestCenter(x, centers);
  return tf.engine().runKernel(NEAREST_CENTER, { x, centers }) as tf.Tensor2D;
}

/** The composition {@link nearestCenter} stands for. */
export function referenceNearestCenter(x: tf.Tensor3D, centers: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => tf.argMax(tf.matMul(referenceL2Normalize(x), referenceL2Normalize(centers), false, true), 2) as tf.Tensor2D);
}

// The index is not differentiable; the tape still walks through it, so it gets zero gradients.
const nearestCenterGradient = (): tf.GradConfig => ({
  kernelName: NEAREST_CENTER,
  inputsToSave: ["x", "centers"],
  gradFunc: (_dy, saved) => {
    const [x, centers] = saved as tf.Tensor[];
    return { x: () => tf.zerosLike(x!), centers: () => tf.zerosLike(centers!) };
  },
});

/**
 * Each center's mean with the points assigned to it: for index int32 [G, N] (values in [0, M)),
 * values [G, N, d] and centers [G, M, d], out[g, m] = (Σ_{n: index = m} values[g, n] + centers[g, m])
 * / (count + 1) — Context Clusters' and CLUENet's pooling aggregation. Differentiable in values and
 * centers.
 */
export function clusterMean(index: tf.Tensor2D, values: tf.Tensor3D, centers: tf.Tensor3D): tf.Tensor3D {
  const [g, n] = index.shape;
  if (index.dtype !== "int32") throw new Error(`clusterMean: index must be int32, got ${index.dtype}`);
  if (values.shape[0] !== g || values.shape[1] !== n || centers.shape[0] !== g || centers.shape[2] !== values.shape[2]) {
    throw new Error(
      `clusterMean: index ${JSON.stringify(index.shape)}, values ${JSON.stringify(values.shape)} and centers ${JSON.stringify(centers.shape)} ` +
        "must be [G, N], [G, N, d] and [G, M, d]",
    );
  }
  if (!useKernel(CLUSTER_MEAN, clusterMeanGradient)) return referenceClusterMean(index, values, centers);
  const [out, counts] = runKernels(CLUSTER_MEAN, { index, values, centers });
  tf.dispose(counts!);
  return out as tf.Tensor3D;
}

/** The composition {@link clusterMean} stands for (one-hot matrix products). */
export function referenceClusterMean(index: tf.Tensor2D, values: tf.Tensor3D, centers: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const [g, n] = index.shape;
    const a = tf.cast(tf.oneHot(index, centers.shape[1]), "float32") as tf.Tensor3D; // [G, N, M]
    const sums = tf.matMul(a, values, true, false); // [G, M, d]
    // Counts as a product too: a sum over the middle axis would transpose the one-hot, which
    // tfjs-backend-webgpu 4.22 miscompiles for a buffer cast from int32.
    const counts = tf.matMul(a, tf.ones([g, n, 1]), true, false); // [G, M, 1]
    return tf.div(tf.add(sums, centers), tf.add(counts, 1)) as tf.Tensor3D;
  });
}

// counts are saves for the gradient, never differentiated: no zero gradient for them.
declareSaveOnlyOutputs(CLUSTER_MEAN, [false, true]);

const clusterMeanGradient = (): tf.GradConfig => ({
  kernelName: CLUSTER_MEAN,
  inputsToSave: ["index"],
  outputsToSave: [false, true],
  gradFunc: (dy, saved) => {
    const [index, counts] = saved as tf.Tensor[];
    const upstream = Array.isArray(dy) ? dy[0]! : dy;
    const [dValues, dCenters] = runKernels(CLUSTER_MEAN_GRAD, { dy: upstream, index: index!, counts: counts! });
    // tfjs wants float gradients even for an int32 input; the index has none.
    return { index: () => tf.zeros(index!.shape), values: () => dValues!, centers: () => dCenters! };
  },
});
