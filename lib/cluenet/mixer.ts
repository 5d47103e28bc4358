/** What every token mixer of a cluster block returns, and the assignment it may share. */
import type { tf } from "../engine/index.js";

/**
 * A hard assignment of pixels to centers, per head: each pixel's center and its score there (the
 * dense dispatch matrix S [heads·B, N, M] is the one-hot of the index times the score).
 */
export interface Assignment {
  /** int32 [heads·B, N]: each pixel's center (row-major over the cluster grid). */
  index: tf.Tensor2D;
  /** [heads·B, N]: the winning center's score (keeps the gradient). */
  score: tf.Tensor2D;
  /** [heads·B, N, M]: that dense S, where the backend's composition computed it anyway (not on the native backend). */
  weights?: tf.Tensor3D;
}

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
