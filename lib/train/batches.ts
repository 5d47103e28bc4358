/**
 * Where training batches come from: any source that can replay epoch `e` from batch `k` on, which
 * is what resuming a run mid-epoch needs. Datasets (`datasets.fashionMnist(…)` and the others)
 * and in-memory tensors adapt to it.
 */
import { tf } from "../engine/index.js";
import type { BatchOptions } from "../data/index.js";
import { Rng, shuffleInPlace } from "../data/random.js";

/** One batch: images `[B, H, W, C]` and integer labels `[B]`. The trainer disposes it after use. */
export interface TrainBatch {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
  dispose(): void;
}

/** A reproducible source of batches (the same epoch number gives the same batches). */
export interface BatchSource {
  /** Batches per epoch. */
  readonly length: number;
  /** Images per epoch, when known (for progress and throughput). */
  readonly samples?: number;
  /** The batches of epoch `epoch` (0-based), starting at batch `start` (default 0). */
  epoch(epoch: number, start?: number): AsyncIterable<TrainBatch>;
}

/** What {@link fromDataset} needs of a dataset: `batches(…)` as the `datasets` module provides. */
export interface BatchedDataset {
  readonly length: number;
  batches(options: BatchOptions): AsyncIterable<TrainBatch> & { readonly length: number };
}

/**
 * Adapts a dataset to a {@link BatchSource}: epoch `e` is `dataset.batches({ ...options, epoch: e })`,
 * so order and augmentation depend on (seed, epoch) alone. Starting mid-epoch (a resume) reads and
 * discards the batches before `start`: the loaders cannot start inside an epoch, and since each
 * sample's augmentation depends only on (seed, epoch, sample), the batches that follow are the same.
 */
export function fromDataset(dataset: BatchedDataset, options: Omit<BatchOptions, "epoch">): BatchSource {
  const probe = dataset.batches({ ...options, epoch: 0 });
  const length = probe.length;
  const dropLast = options.dropLast ?? options.drop_last ?? false;
  return {
    length,
    samples: dropLast ? length * options.batchSize : dataset.length,
    async *epoch(epoch: number, start = 0) {
      let index = 0;
      for await (const batch of dataset.batches({ ...options, epoch })) {
        if (index++ < start) {
          batch.dispose();
          continue;
        }
        yield batch;
      }
    },
  };
}

/** Stream identifier of the in-memory shuffle (distinct from the data loaders' streams). */
const TENSOR_SHUFFLE_STREAM = 0x54454e53;

/** Options of {@link fromTensors}. */
export interface TensorBatchOptions {
  batchSize: number;
  /** Visit samples in a seeded random order, different every epoch (default false). */
  shuffle?: boolean;
  /** Seed of the order (default 0). */
  seed?: number;
  /** Leave out a last partial batch (default false). */
  dropLast?: boolean;
}

/**
 * Batches of tensors held in memory (`x` [N, H, W, C], `y` [N]); the source keeps its own copies,
 * freed by `dispose()`. Epoch `e`'s order is a Fisher–Yates shuffle seeded by (seed, e).
 */
export function fromTensors(x: tf.Tensor4D, y: tf.Tensor1D, options: TensorBatchOptions): BatchSource & { dispose(): void } {
  const n = x.shape[0];
  if (y.shape[0] !== n) throw new RangeError(`fromTensors: ${n} images but ${y.shape[0]} labels`);
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const images = tf.keep(x.clone());
  const labels = tf.keep(tf.cast(y, "int32"));
  const length = options.dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
  const order = (epoch: number): Int32Array => {
    const idx = Int32Array.from({ length: n }, (_, i) => i);
    if (options.shuffle) shuffleInPlace(idx, new Rng(options.seed ?? 0, TENSOR_SHUFFLE_STREAM, epoch));
    return idx;
  };
  return {
    length,
    samples: options.dropLast ? length * batchSize : n,
    async *epoch(epoch: number, start = 0) {
      const idx = order(epoch);
      for (let b = start; b < length; b++) {
        const pick = tf.tensor1d(idx.subarray(b * batchSize, Math.min(n, (b + 1) * batchSize)), "int32");
        const batch = tf.tidy(() => ({ x: tf.gather(images, pick) as tf.Tensor4D, y: tf.gather(labels, pick) as tf.Tensor1D }));
        pick.dispose();
        yield { ...batch, dispose: () => tf.dispose([batch.x, batch.y]) };
      }
    },
    dispose: () => tf.dispose([images, labels]),
  };
}
