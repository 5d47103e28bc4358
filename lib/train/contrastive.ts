/**
 * SimCLR-style contrastive pre-training (Chen et al. 2020) of any {@link Encoder}: two augmented
 * views of each image, a projection head on the embeddings, and the NT-Xent loss that pulls the
 * two views of an image together and pushes the other 2B − 2 images of the batch away. The head
 * is discarded afterwards; the encoder's embeddings are what clustering uses.
 */
import { tf, ready } from "../engine/index.js";
import type { ImageDataset } from "../data/index.js";
import type { MultiView } from "../data/transforms/index.js";
import { Linear, Rng, pytorchDefault } from "../nn/index.js";
import type { Encoder } from "./encoder.js";
import { runEpochs, type EpochsRecord } from "./epochs.js";

/** Options of {@link contrastivePretrain}. */
export interface ContrastiveOptions {
  /** Two-view augmentation (e.g. `transforms.twoViews(...)`). */
  augment: MultiView;
  epochs: number;
  /** Images per batch (default 256: 510 negatives per anchor). */
  batchSize?: number;
  /** NT-Xent temperature (default 0.5, SimCLR's for small batches). */
  temperature?: number;
  /** Adam learning rate (default 1e-3). */
  learningRate?: number;
  /** Projection head: hidden and output sizes (default 128 → 64). */
  projection?: { hidden: number; out: number };
  seed?: number;
  /** Called after every epoch with its mean loss. */
  onEpoch?: (epoch: number, loss: number, seconds: number) => void;
  /** Checked between steps. */
  signal?: AbortSignal;
}

/** What pre-training did; `losses` are each epoch's mean NT-Xent. */
export type ContrastiveRecord = EpochsRecord;

/**
 * NT-Xent over two batches of projections [B, p]: for each of the 2B views, cross-entropy of its
 * partner against the other 2B − 1 views, with cosine similarities divided by the temperature.
 * Mean over the 2B views.
 */
export function ntXent(a: tf.Tensor2D, b: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const n = a.shape[0];
    const z = tf.concat([a, b], 0);
    const unit = tf.div(z, tf.maximum(tf.norm(z, 2, 1, true), 1e-12));
    // Self-similarity is removed by a large negative on the diagonal.
    const logits = tf.sub(tf.div(tf.matMul(unit, unit, false, true), temperature), tf.mul(tf.eye(2 * n), 1e9));
    const partner = tf.concat([tf.range(n, 2 * n, 1, "int32"), tf.range(0, n, 1, "int32")]);
    return tf.losses.softmaxCrossEntropy(tf.oneHot(partner, 2 * n), logits) as tf.Scalar;
  });
}

/**
 * Trains `encoder` (in place) with SimCLR on the images of `dataset`, labels unused.
 *
 * @example
 * ```ts
 * const images = await datasets.fashionMnist({ split: "train" });
 * const encoder = train.smallCnn();
 * await train.contrastivePretrain(encoder, images, { augment: transforms.twoViews(...), epochs: 10 });
 * ```
 */
export async function contrastivePretrain(encoder: Encoder, dataset: ImageDataset, options: ContrastiveOptions): Promise<ContrastiveRecord> {
  await ready();
  const { augment, epochs, batchSize = 256, temperature = 0.5, learningRate = 1e-3, projection = { hidden: 128, out: 64 }, seed = 0, onEpoch, signal } = options;
  if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError(`contrastivePretrain: epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 2) throw new RangeError(`contrastivePretrain: batchSize must be an integer ≥ 2, got ${batchSize}`);
  // The projection head is sized from one embedding of the first image.
  const probe = tf.tidy(() => encoder.embed(tf.zeros([1, ...dataset.shape])));
  const dims = probe.shape[1];
  probe.dispose();
  const build = { rng: new Rng(seed + 1), init: pytorchDefault };
  const head1 = new Linear(build, dims, projection.hidden);
  const head2 = new Linear(build, projection.hidden, projection.out);
  const project = (x: tf.Tensor4D) => head2.forward(tf.relu(head1.forward(encoder.embed(x, { training: true })))) as tf.Tensor2D;
  const variables = [...encoder.trainableVariables, ...[head1, head2].flatMap((m) => m.namedParameters().map(([, p]) => p.variable))];
  const optimizer = tf.train.adam(learningRate);
  const loader = dataset.batches({ batchSize, shuffle: true, seed, augment, dropLast: true });
  try {
    return await runEpochs(
      loader,
      epochs,
      (batch) => {
        const [x1, x2] = batch.views as [tf.Tensor4D, tf.Tensor4D];
        return optimizer.minimize(() => ntXent(project(x1), project(x2), temperature), true, variables)!;
      },
      { onEpoch, signal },
    );
  } finally {
    optimizer.dispose();
    head1.dispose();
    head2.dispose();
  }
}
