/**
 * Moves between per-head groups [heads·B, N, d] and channels-last rows [B, N, heads·d] with
 * reshapes and transposes (the split composition, spelled out here apart from the engine's
 * splitHeads and mergeHeads): an op taking rows in place can then be compared with the plain
 * composition on groups, values and gradients (a transpose's gradient is exact).
 */
import { tf } from "../../lib/engine/index.js";

/** [heads·B, N, d] → [B, N, heads·d]: row n of image b holds its heads' channels one after another. */
export function groupsToRows(t: tf.Tensor, heads: number): tf.Tensor3D {
  const [g, n, d] = t.shape as [number, number, number];
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(t, [heads, g / heads, n, d]), [1, 2, 0, 3]), [g / heads, n, heads * d]));
}

/** [B, N, heads·d] → [heads·B, N, d]: group h·B + b is channels h·d … h·d + d − 1 of image b. */
export function rowsToGroups(t: tf.Tensor, heads: number): tf.Tensor3D {
  const [b, n, hd] = t.shape as [number, number, number];
  const d = hd / heads;
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(t, [b, n, heads, d]), [2, 0, 1, 3]), [heads * b, n, d]));
}
