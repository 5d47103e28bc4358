/** Activations TensorFlow.js lacks as one kernel. */
import { tf } from "../tf.js";
import { useKernel } from "./dispatch.js";
import { GELU, GELU_GRAD } from "./names.js";

/** The exact GELU, x·Φ(x) = ½·x·(1 + erf(x/√2)) (PyTorch's default `nn.GELU()`). */
export function gelu<T extends tf.Tensor>(x: T): T {
  if (!useKernel(GELU, geluGradient)) return referenceGelu(x);
  return tf.engine().runKernel(GELU, { x }) as T;
}

/**
 * The composition {@link gelu} stands for, as one taped op with its own gradient
 * dy·(Φ(x) + x·φ(x)): only x is kept for the backward pass instead of the five intermediates the
 * composed ops would keep (the MLP's hidden maps are the largest tensors of a CLUENet).
 */
export function referenceGelu<T extends tf.Tensor>(x: T): T {
  return referenceGeluOp(x) as T;
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

const referenceGeluOp = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  save([x]);
  return {
    value: tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1))),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [s] = saved as [tf.Tensor];
        const cdf = tf.mul(tf.add(tf.erf(tf.mul(s, Math.SQRT1_2)), 1), 0.5);
        const pdf = tf.mul(tf.exp(tf.mul(tf.square(s), -0.5)), INV_SQRT_2PI);
        return tf.mul(dy, tf.add(cdf, tf.mul(s, pdf)));
      }),
  };
});

const geluGradient = (): tf.GradConfig => ({
  kernelName: GELU,
  inputsToSave: ["x"],
  gradFunc: (dy, saved) => {
    const [x] = saved as tf.Tensor[];
    return { x: () => tf.engine().runKernel(GELU_GRAD, { dy: dy as tf.Tensor, x: x! }) as tf.Tensor };
  },
});
