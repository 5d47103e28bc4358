/** Normalisations over the last axis: layer norm and L2 normalisation. */
import { tf } from "../tf.js";
import { declareSaveOnlyOutputs } from "../tape-saves.js";
import { runKernels, useKernel } from "./dispatch.js";
import { L2_NORMALIZE, L2_NORMALIZE_GRAD, LAYER_NORM, LAYER_NORM_GRAD, LAYER_NORM_TEE } from "./names.js";

/**
 * Layer normalisation over the last axis: (x − mean) / √(var + ε) · gamma + beta, with the
 * population variance, as `tf.moments` computes it (PyTorch's nn.LayerNorm). gamma and beta have
 * the size of x's last axis.
 */
export function layerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon = 1e-5): T {
  checkLayerNorm("layerNorm", x, gamma, beta);
  if (!useKernel(LAYER_NORM, layerNormGradient)) return referenceLayerNorm(x, gamma, beta, epsilon);
  const [y, mean, rstd] = runKernels(LAYER_NORM, { x, gamma, beta }, { epsilon });
  // The tape keeps its own references to mean and rstd for the gradient.
  tf.dispose([mean!, rstd!]);
  return y as T;
}

/**
 * x passed through and its {@link layerNorm}: `[skip, y]`, for an input that feeds both a norm and
 * a residual skip (a MetaFormer block's x). `skip` equals x and shares its storage. The point is
 * the gradient: TensorFlow.js sums the gradients of a tensor with several consumers with an Add
 * over the whole map; here x has one consumer, and dx = d(skip) + layer norm's input gradient
 * comes out of the norm's backward kernel in the same pass (backends with the kernel). Elsewhere
 * the composition {@link referenceLayerNormTee}.
 */
export function layerNormTee<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon = 1e-5): [T, T] {
  checkLayerNorm("layerNormTee", x, gamma, beta);
  if (x.dtype !== "float32" || !useKernel(LAYER_NORM_TEE, layerNormTeeGradient)) return referenceLayerNormTee(x, gamma, beta, epsilon);
  const [skip, y, mean, rstd] = runKernels(LAYER_NORM_TEE, { x, gamma, beta }, { epsilon });
  tf.dispose([mean!, rstd!]);
  return [skip as T, y as T];
}

/** The composition {@link layerNormTee} stands for: a copy of x (sharing its storage) and layerNorm(x). */
export function referenceLayerNormTee<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon = 1e-5): [T, T] {
  checkLayerNorm("layerNormTee", x, gamma, beta);
  return [tf.clone(x), layerNorm(x, gamma, beta, epsilon)];
}

function checkLayerNorm(op: string, x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): void {
  const last = x.shape[x.rank - 1];
  if (gamma.shape.length !== 1 || gamma.shape[0] !== last || beta.shape.length !== 1 || beta.shape[0] !== last) {
    throw new Error(`${op}: gamma ${JSON.stringify(gamma.shape)} and beta ${JSON.stringify(beta.shape)} must both be [${last}], the size of x's last axis`);
  }
}

/** The composition {@link layerNorm} stands for. */
export function referenceLayerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon = 1e-5): T {
  return normalizeAffine(x, gamma, beta, [x.rank - 1], epsilon);
}

/**
 * (x − mean)·rstd·gamma + beta with mean and population variance over `axes` (gamma, beta along
 * the last axis): layer norm over the last axis, GroupNorm(1) over all but the batch axis. One
 * taped op keeping only x̂ and rstd for the backward pass:
 *   g = dy·γ;  dx = rstd·(g − mean(g) − x̂·mean(g·x̂));  dγ = Σ dy·x̂;  dβ = Σ dy.
 */
export function normalizeAffine<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, axes: number[], epsilon = 1e-5): T {
  const key = `${axes.join(",")}|${epsilon}`;
  let op = affineNormOps.get(key);
  if (!op) {
    op = affineNormOp(axes, epsilon);
    affineNormOps.set(key, op);
  }
  return op(x, gamma, beta) as T;
}

type AffineNorm = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;
const affineNormOps = new Map<string, AffineNorm>();

function affineNormOp(axes: number[], epsilon: number): AffineNorm {
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, gamma, beta] = args as [tf.Tensor, tf.Tensor, tf.Tensor];
    const save = args[3] as tf.GradSaveFunc;
    const [xhat, rstd] = tf.tidy(() => {
      const { mean, variance } = tf.moments(x, axes, true);
      const r = tf.rsqrt(tf.add(variance, epsilon));
      return [tf.mul(tf.sub(x, mean), r), r];
    });
    save([xhat!, rstd!, gamma]);
    return {
      value: tf.tidy(() => tf.add(tf.mul(xhat!, gamma), beta)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xh, r, g0] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
          const g = tf.mul(dy, g0);
          const dx = tf.mul(r, tf.sub(tf.sub(g, tf.mean(g, axes, true)), tf.mul(xh, tf.mean(tf.mul(g, xh), axes, true))));
          const outer = Array.from({ length: dy.rank - 1 }, (_, i) => i);
          return [dx, tf.sum(tf.mul(dy, xh), outer), tf.sum(dy, outer)];
        }),
    };
  }) as AffineNorm;
}

// mean and rstd are saves for the gradient, never differentiated: no zero gradients for them.
declareSaveOnlyOutputs(LAYER_NORM, [false, true, true]);
declareSaveOnlyOutputs(LAYER_NORM_TEE, [false, false, true, true]);

const layerNormGradient = (): tf.GradConfig => ({
  kernelName: LAYER_NORM,
  inputsToSave: ["x", "gamma"],
  outputsToSave: [false, true, true],
  gradFunc: (dy, saved) => {
    const [x, gamma, mean, rstd] = saved as tf.Tensor[];
    const upstream = Array.isArray(dy) ? dy[0]! : dy;
    // One kernel gives all three gradients, run here and not inside the per-input closures:
    // tfjs runs each closure in its own tidy, which would dispose the other two.
    const [dx, dgamma, dbeta] = runKernels(LAYER_NORM_GRAD, { dy: upstream, x: x!, gamma: gamma!, mean: mean!, rstd: rstd! });
    return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
  },
});

// The tee's outputs are [skip, y, mean, rstd]: dx = d(skip) + layer norm's input gradient, in
// the one gradient kernel.
const layerNormTeeGradient = (): tf.GradConfig => ({
  kernelName: LAYER_NORM_TEE,
  inputsToSave: ["x", "gamma"],
  outputsToSave: [false, false, true, true],
  gradFunc: (dys, saved) => {
    const [x, gamma, mean, rstd] = saved as tf.Tensor[];
    const [dskip, dy] = dys as tf.Tensor[];
    const [dx, dgamma, dbeta] = runKernels(LAYER_NORM_GRAD, { dy: dy!, x: x!, gamma: gamma!, mean: mean!, rstd: rstd!, dskip: dskip! });
    return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
  },
});

/** x / max(‖x‖₂, ε) over the last axis (PyTorch's F.normalize, ε = 1e-12). */
export function l2Normalize<T extends tf.Tensor>(x: T, epsilon = 1e-12): T {
  if (!useKernel(L2_NORMALIZE, l2NormalizeGradient)) return referenceL2Normalize(x, epsilon);
  return tf.engine().runKernel(L2_NORMALIZE, { x }, { epsilon }) as T;
}

/** The composition {@link l2Normalize} stands for. */
export function referenceL2Normalize<T extends tf.Tensor>(x: T, epsilon = 1e-12): T {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), -1, true)), epsilon)) as T);
}

const l2NormalizeGradient = (): tf.GradConfig => ({
  kernelName: L2_NORMALIZE,
  inputsToSave: ["x"],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as tf.Tensor[];
    return { x: () => tf.engine().runKernel(L2_NORMALIZE_GRAD, { dy: dy as tf.Tensor, x: x! }, { epsilon: (attrs as { epsilon: number }).epsilon }) as tf.Tensor };
  },
});
