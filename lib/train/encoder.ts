/**
 * The one contract between models and the code that trains or uses their embeddings (contrastive
 * pre-training, DCvCD's refinement): anything that maps a batch of inputs to embedding vectors
 * through trainable TensorFlow.js variables is an `Encoder`. A small CNN, a CLUENet without its
 * head or any user model plugs in by implementing these three members.
 * @packageDocumentation
 */
import type { tf } from "../engine/index.js";

/** A model that embeds a batch of inputs, with the variables fine-tuning may update. */
export interface Encoder {
  /**
   * Embeds a batch: inputs `[batch, ...inputShape]` → embeddings `[batch, dims]` (not
   * normalised). Called inside `tf.tidy` or an optimizer's `minimize`, so it only creates
   * tensors; it must be differentiable with respect to {@link Encoder.trainableVariables}.
   *
   * @param options.training - true while training (dropout, batch statistics), false to embed.
   */
  embed(inputs: tf.Tensor, options?: { training?: boolean }): tf.Tensor2D;
  /** The variables training updates (all of them for fine-tuning the whole encoder). */
  readonly trainableVariables: tf.Variable[];
  /** Frees every tensor the encoder owns. */
  dispose(): void;
}
