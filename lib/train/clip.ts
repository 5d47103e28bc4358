/** Gradient clipping by global norm, as PyTorch's `clip_grad_norm_`. */
import { tf } from "../engine/index.js";

/**
 * Scales every gradient by min(1, maxNorm / (‖g‖ + 1e-6)), ‖g‖ the L2 norm of all gradients
 * together. Returns the new gradients (the given ones are not disposed) and the norm before clipping.
 */
export function clipByGlobalNorm(
  gradients: ReadonlyArray<tf.Tensor | null | undefined>,
  maxNorm: number,
): { gradients: Array<tf.Tensor | null>; norm: tf.Scalar } {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm must be a positive number, got ${maxNorm}`);
  const out: Array<tf.Tensor | null> = [];
  const norm = tf.tidy(() => {
    const present = gradients.filter((g): g is tf.Tensor => !!g);
    const total = present.length === 0 ? tf.scalar(0) : (tf.sqrt(tf.addN(present.map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
    const scale = tf.minimum(tf.div(maxNorm, tf.add(total, 1e-6)), 1);
    for (const g of gradients) out.push(g ? tf.keep(tf.mul(g, scale)) : null);
    return total;
  });
  return { gradients: out, norm };
}
