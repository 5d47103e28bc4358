/** Moving between channels-last rows [B, R, heads·d] and per-head groups [heads·B, R, d]. */
import { tf } from "../engine/index.js";

/** [B, R, heads·d] (head-major channels, as PyTorch's `(hd c)`) → [heads·B, R, d]. */
export function splitHeads(t: tf.Tensor, batch: number, rows: number, heads: number, d: number): tf.Tensor3D {
  if (heads === 1) return tf.reshape(t, [batch, rows, d]);
  return tf.reshape(tf.transpose(tf.reshape(t, [batch, rows, heads, d]), [2, 0, 1, 3]), [heads * batch, rows, d]);
}

/** [heads·B, R, d] → [B, R, heads·d]. */
export function mergeHeads(t: tf.Tensor3D, batch: number, rows: number, heads: number, d: number): tf.Tensor3D {
  if (heads === 1) return tf.reshape(t, [batch, rows, d]);
  return tf.reshape(tf.transpose(tf.reshape(t, [heads, batch, rows, d]), [1, 2, 0, 3]), [batch, rows, heads * d]);
}
