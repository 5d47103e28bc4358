/**
 * Reconstruction pre-training of the DEC/N2D {@link Autoencoder}: mean squared error between the
 * images and their reconstructions, Adam, shuffled batches, labels unused (Keras' `mse` and the
 * N2D recipe: Adam, batch 256). DEC pre-trains layer-wise with dropout first; N2D and most
 * reimplementations train the whole autoencoder end to end, as here.
 */
import { tf, ready } from "../engine/index.js";
import type { ImageDataset } from "../data/index.js";
import type { Autoencoder } from "./encoders/autoencoder.js";
import { runEpochs, type EpochsRecord } from "./epochs.js";

/** Options of {@link autoencoderPretrain}. */
export interface AutoencoderPretrainOptions {
  epochs: number;
  /** Images per batch (default 256, N2D's). */
  batchSize?: number;
  /** Adam learning rate (default 1e-3). */
  learningRate?: number;
  /** Seed of the shuffling (default 0). */
  seed?: number;
  /** Called after every epoch with its mean loss. */
  onEpoch?: (epoch: number, loss: number, seconds: number) => void;
  /** Checked between steps. */
  signal?: AbortSignal;
}

/** What pre-training did; `losses` are each epoch's mean reconstruction MSE per pixel. */
export type AutoencoderPretrainRecord = EpochsRecord;

/** Mean squared error per value between inputs `[B, ...]` and reconstructions `[B, d]`. */
export function reconstructionLoss(inputs: tf.Tensor, reconstructions: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(tf.reshape(inputs, reconstructions.shape), reconstructions)) as tf.Scalar);
}

/**
 * Trains `model` (encoder and decoder, in place) to reconstruct the images of `dataset`, pixels
 * in [0, 1] as the dataset gives them (no normalisation: the linear output reconstructs them).
 *
 * @example
 * ```ts
 * const ae = train.autoencoder();
 * const { losses } = await train.autoencoderPretrain(ae, await datasets.fashionMnist(), { epochs: 20, onEpoch: (e, l) => console.log(e, l) });
 * ```
 */
export async function autoencoderPretrain(model: Autoencoder, dataset: ImageDataset, options: AutoencoderPretrainOptions): Promise<AutoencoderPretrainRecord> {
  await ready();
  const { epochs, batchSize = 256, learningRate = 1e-3, seed = 0, onEpoch, signal } = options;
  if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError(`autoencoderPretrain: epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`autoencoderPretrain: batchSize must be a positive integer, got ${batchSize}`);
  if (!(learningRate > 0)) throw new RangeError(`autoencoderPretrain: learningRate must be positive, got ${learningRate}`);
  const perSample = dataset.shape.reduce((a, b) => a * b, 1);
  if (perSample !== model.inputDim) {
    throw new RangeError(
      `autoencoderPretrain: ${dataset.name} has images [${dataset.shape.join(", ")}] (${perSample} values) but the autoencoder takes ${model.inputDim}; ` +
        `build it with autoencoder({ inputDim: ${perSample} })`,
    );
  }
  if (dataset.length === 0) throw new RangeError(`autoencoderPretrain: ${dataset.name} is empty`);
  const variables = [...model.trainableVariables, ...model.decoderVariables];
  const optimizer = tf.train.adam(learningRate);
  const loader = dataset.batches({ batchSize, shuffle: true, seed });
  try {
    return await runEpochs(
      loader,
      epochs,
      (batch) => optimizer.minimize(() => reconstructionLoss(batch.x, model.reconstruct(batch.x, { training: true })), true, variables)!,
      { onEpoch, signal },
    );
  } finally {
    optimizer.dispose();
  }
}
