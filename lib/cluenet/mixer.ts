/** What every token mixer of a cluster block returns, and the assignment it may share. */
import type { ClusterAssignment, tf } from "../engine/index.js";

/**
 * A hard assignment of pixels to centers, per head (groups heads·B): each pixel's center (index,
 * row-major over the cluster grid) and its score there; the dense dispatch matrix S [heads·B, N, M]
 * is the one-hot of the index times the score.
 */
export type Assignment = ClusterAssignment;

export interface MixerOutput {
  /** [B, H, W, C]. */
  out: tf.Tensor4D;
  /** The assignment this mixer used (its own, or the one it was given). */
  assignment: Assignment;
}

export interface TokenMixer {
  /** x [B, H, W, C]; `shared` is the stage's first assignment, when the mixer reuses it. */
  forward(x: tf.Tensor4D, shared: Assignment | null): MixerOutput;
  /** Frees cached constants (parameters are freed through the module tree). */
  disposeConstants(): void;
}
