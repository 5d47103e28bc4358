/**
 * Per-head groups and channels-last rows: multi-head ops see G = heads·B independent groups
 * [heads·B, R, d] (group g = h·B + b), models keep channels-last rows [B, R, heads·d] (head-major
 * channels, as PyTorch's `(hd c)`). softAggregate, clusterAssign and clusterDispatch take the rows
 * in place ({@link HeadsLayout}); these two move between the layouts where something else must.
 */
import { tf } from "../tf.js";

/** How a fused op's pixel operands hold their groups. */
export interface HeadsLayout {
  /**
   * Heads per image: the pixel operands are channels-last rows [B, N, heads·d] holding the groups
   * G = heads·B (group g = h·B + b is channels h·d … h·d + d − 1 of image b), read and written in
   * place; the per-group operands stay [G, …]. Default 1: [G, N, d], the same memory.
   */
  heads?: number;
}

/** [B, R, heads·d] → [heads·B, R, d]. */
export function splitHeads(t: tf.Tensor, batch: number, rows: number, heads: number, d: number): tf.Tensor3D {
  if (heads === 1) return tf.reshape(t, [batch, rows, d]);
  return tf.reshape(tf.transpose(tf.reshape(t, [batch, rows, heads, d]), [2, 0, 1, 3]), [heads * batch, rows, d]);
}

/** [heads·B, R, d] → [B, R, heads·d]. */
export function mergeHeads(t: tf.Tensor3D, batch: number, rows: number, heads: number, d: number): tf.Tensor3D {
  if (heads === 1) return tf.reshape(t, [batch, rows, d]);
  return tf.reshape(tf.transpose(tf.reshape(t, [heads, batch, rows, d]), [1, 2, 0, 3]), [batch, rows, heads * d]);
}

/** The heads of `layout`, checked: a whole number ≥ 1. */
export function headsOf(op: string, layout: HeadsLayout | undefined): number {
  const heads = layout?.heads ?? 1;
  if (!Number.isInteger(heads) || heads < 1) throw new Error(`${op}: heads must be a whole number ≥ 1, got ${heads}`);
  return heads;
}
