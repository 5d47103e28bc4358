/**
 * Fused ops: one kernel on backends that have one (the native backend), and exactly the same
 * composition of TensorFlow.js ops everywhere else (the reference the native kernels are tested
 * against). Models call these instead of spelling the composition out, so the fast path needs no
 * model change and every backend computes the same function.
 * @packageDocumentation
 */
import { tf } from "../tf.js";
import { GELU, GELU_GRAD, LAYER_NORM, LAYER_NORM_GRAD } from "./names.js";

/**
 * Layer normalisation over the last axis: (x − mean) / √(var + ε) · gamma + beta, with the
 * population variance, as `tf.moments` computes it. gamma and beta have the last axis' size.
 */
export function layerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon = 1e-5): T {
  const last = x.shape[x.rank - 1];
  if (gamma.shape.length !== 1 || gamma.shape[0] !== last || beta.shape.length !== 1 || beta.shape[0] !== last) {
    throw new Error(`layerNorm: gamma ${JSON.stringify(gamma.shape)} and beta ${JSON.stringify(beta.shape)} must both be [${last}], the size of x's last axis`);
  }
  if (!hasKernel(LAYER_NORM)) return referenceLayerNorm(x, gamma, beta, epsilon);
  const [y, mean, rstd] = tf.engine().runKernel(LAYER_NORM, { x, gamma, beta }, { epsilon }) as tf.Tensor[];
  // The tape keeps its own references to mean and rstd for the gradient.
  tf.dispose([mean!, rstd!]);
  return y as T;
}

/** The composition {@link layerNorm} stands for. */
export function referenceLayerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon = 1e-5): T {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon))), gamma), beta) as T;
  });
}

/** The exact GELU, x·Φ(x) = ½·x·(1 + erf(x/√2)) (PyTorch's default `nn.GELU()`). */
export function gelu<T extends tf.Tensor>(x: T): T {
  if (!hasKernel(GELU)) return referenceGelu(x);
  return tf.engine().runKernel(GELU, { x }) as T;
}

/** The composition {@link gelu} stands for. */
export function referenceGelu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))) as T);
}

function hasKernel(name: string): boolean {
  if (!tf.getKernel(name, tf.getBackend())) return false;
  registerGradients();
  return true;
}

let gradientsRegistered = false;

/** Gradients of the fused kernels, each one more fused kernel; registered on first use. */
function registerGradients(): void {
  if (gradientsRegistered) return;
  gradientsRegistered = true;
  tf.registerGradient({
    kernelName: LAYER_NORM,
    inputsToSave: ["x", "gamma"],
    outputsToSave: [false, true, true],
    gradFunc: (dy, saved) => {
      const [x, gamma, mean, rstd] = saved as tf.Tensor[];
      const upstream = Array.isArray(dy) ? dy[0]! : dy;
      // One kernel gives all three gradients, run here and not inside the per-input closures:
      // tfjs runs each closure in its own tidy, which would dispose the other two.
      const [dx, dgamma, dbeta] = tf.engine().runKernel(LAYER_NORM_GRAD, { dy: upstream, x: x!, gamma: gamma!, mean: mean!, rstd: rstd! }) as tf.Tensor[];
      return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
    },
  });
  tf.registerGradient({
    kernelName: GELU,
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => {
      const [x] = saved as tf.Tensor[];
      return { x: () => tf.engine().runKernel(GELU_GRAD, { dy: dy as tf.Tensor, x: x! }) as tf.Tensor };
    },
  });
}
