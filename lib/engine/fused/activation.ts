/** Activations TensorFlow.js lacks as one kernel. */
import { tf } from "../tf.js";
import { useKernel } from "./dispatch.js";
import { GELU, GELU_GRAD } from "./names.js";

/** The exact GELU, x·Φ(x) = ½·x·(1 + erf(x/√2)) (PyTorch's default `nn.GELU()`). */
export function gelu<T extends tf.Tensor>(x: T): T {
  if (!useKernel(GELU, geluGradient)) return referenceGelu(x);
  return tf.engine().runKernel(GELU, { x }) as T;
}

/** The composition {@link gelu} stands for. */
export function referenceGelu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))) as T);
}

const geluGradient = (): tf.GradConfig => ({
  kernelName: GELU,
  inputsToSave: ["x"],
  gradFunc: (dy, saved) => {
    const [x] = saved as tf.Tensor[];
    return { x: () => tf.engine().runKernel(GELU_GRAD, { dy: dy as tf.Tensor, x: x! }) as tf.Tensor };
  },
});
