/**
 * CLUENet as an {@link Encoder}: a registered configuration built without its classification head,
 * so `embed` returns the pooled features (after the final norm and global average pool). The
 * default is CLUE_nano_FMNIST, the CPU-sized model for 28×28 grey images.
 */
import * as cluenet from "../../cluenet/index.js";
import type { tf } from "../../engine/index.js";
import type { Encoder } from "../encoder.js";

/** Options of {@link cluenetEncoder}: a seed and any configuration overrides (not the head). */
export type CluenetEncoderOptions = Omit<cluenet.CreateOptions, "numClasses">;

/** A headless CLUENet; its embeddings have the last stage's width (128 for CLUE_nano_FMNIST). */
export function cluenetEncoder(name = "CLUE_nano_FMNIST", options: CluenetEncoderOptions = {}): Encoder & { model: cluenet.CluenetModel } {
  const model = cluenet.create(name, { ...options, numClasses: 0 });
  return {
    model,
    embed: (inputs, { training = false } = {}) => model.features(inputs as tf.Tensor4D, { training }),
    trainableVariables: model.namedParameters().map(([, p]) => p.variable),
    dispose: () => model.dispose(),
  };
}
