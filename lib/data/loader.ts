/**
 * `dataset.batches(…)`: a seeded, reproducible async iterator of tensor batches, with batches built
 * ahead of time in worker threads while the training step runs.
 *
 * @packageDocumentation
 */
import { availableParallelism } from "node:os";
import { tf } from "../engine/tf.js";
import { currentAbortSignal, JUPYTER_DISPLAY } from "../display/protocol.js";
import { batchBundle } from "./display.js";
import { formatShape, type Shape } from "./image.js";
import { Rng, shuffleInPlace } from "./random.js";
import type { AssemblerConfig, BatchJob, BatchResult, SkippedSample } from "./pipeline/assemble.js";
import { InProcessRunner, WorkerPool, type BatchRunner } from "./pipeline/pool.js";
import type { SourceSpec } from "./pipeline/source.js";
import { MultiView, Transform } from "./transforms/spec.js";

/** Options of `dataset.batches(…)`. */
export interface BatchOptions {
  /** Samples per batch. */
  batchSize: number;
  /** Visit the samples in a seeded random order, different every epoch (default false). */
  shuffle?: boolean;
  /** Seed of the order and of the augmentation (default 0). Same seed, same batches. */
  seed?: number;
  /** The epoch the first iteration runs (default 0); each further `for await` runs the next epoch. */
  epoch?: number;
  /** Augmentation: a `Transform`, or a multi-view one (`transforms.twoViews`) for contrastive learning. */
  augment?: Transform | MultiView | null;
  /** Leave out the last batch when it is smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /** PyTorch's spelling of {@link BatchOptions.dropLast}. */
  drop_last?: boolean;
  /** Batches built ahead of the one being consumed (default 2). */
  prefetch?: number;
  /**
   * Worker threads that build batches (default 1; 0 builds them on the calling thread, between
   * training steps). One is enough unless decoding large images is slower than the training step.
   */
  workers?: number;
}

/** What every batch has. The consumer owns its tensors: call `dispose()` (or `tf.dispose(batch)`) when done. */
export interface BatchBase {
  /** Labels, int32 `[B]` (−1 for unlabelled samples). */
  y: tf.Tensor1D;
  /** Number of samples (less than `batchSize` for a last partial batch or skipped images). */
  readonly size: number;
  /** Frees the batch's tensors. */
  dispose(): void;
}

/** A batch of images `x`, float32 `[B, H, W, C]`, and labels `y`. */
export interface Batch extends BatchBase {
  x: tf.Tensor4D;
}

/** A batch with several augmented views of the same images (one `[B, H, W, C]` tensor per view). */
export interface MultiViewBatch extends BatchBase {
  views: tf.Tensor4D[];
}

/** What a loader needs from a dataset. */
export interface LoaderSource {
  /** The dataset's title, for messages. */
  name: string;
  source: SourceSpec;
  /** Source indices of the dataset's samples, in dataset order. */
  indices: Int32Array;
  /** Labels by source index. */
  labels: Int32Array;
  shape: Shape;
  skipBad: boolean;
  /** Class names, for the batches' displays. */
  classes: readonly string[];
}

/** Stream identifier of the shuffle, distinct from the augmentation's. */
const SHUFFLE_STREAM = 0x53485546;

/**
 * A reusable batch iterator: each `for await` over it runs one epoch (the next one each time),
 * in an order and with augmentations determined by `seed` and the epoch number alone. Inside
 * the cluelab kernel, interrupting the cell ends the loop at the next batch.
 */
export class BatchLoader<B extends BatchBase = Batch> implements AsyncIterable<B> {
  /** Samples per batch. */
  readonly batchSize: number;
  /** Batches per epoch. */
  readonly length: number;
  /** The shape of one sample after augmentation. */
  readonly shape: Shape;
  /** Samples left out so far because their images could not be decoded (with `skipBad`). */
  readonly skipped: SkippedSample[] = [];
  private nextEpoch: number;
  private readonly options: Required<Pick<BatchOptions, "shuffle" | "seed" | "prefetch" | "workers">> & { dropLast: boolean };
  private readonly config: AssemblerConfig;
  private readonly normalizeInfo: { mean: readonly number[]; std: readonly number[] } | undefined;

  constructor(
    private readonly data: LoaderSource,
    options: BatchOptions,
  ) {
    const { batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    const prefetch = options.prefetch ?? 2;
    if (!Number.isInteger(prefetch) || prefetch < 1) throw new RangeError(`prefetch must be a positive integer, got ${prefetch}`);
    const workers = options.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`workers must be a non-negative integer, got ${workers}`);
    const seed = options.seed ?? 0;
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    const epoch = options.epoch ?? 0;
    if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`epoch must be a non-negative integer, got ${epoch}`);
    if (options.dropLast !== undefined && options.drop_last !== undefined && options.dropLast !== options.drop_last) {
      throw new RangeError("dropLast and drop_last disagree; pass one of them");
    }
    const dropLast = options.dropLast ?? options.drop_last ?? false;
    const augment = options.augment ?? null;
    if (augment !== null && !(augment instanceof Transform) && !(augment instanceof MultiView)) {
      throw new TypeError("augment must be built with the `transforms` functions (a Transform or transforms.twoViews(…))");
    }

    this.batchSize = batchSize;
    this.nextEpoch = epoch;
    this.options = { shuffle: options.shuffle ?? false, seed, prefetch, workers, dropLast };
    try {
      this.shape = augment ? augment.outputShape(data.shape) : data.shape;
    } catch (error) {
      throw new RangeError(`${data.name}: the augmentation does not fit its ${formatShape(data.shape)} images: ${(error as Error).message}`);
    }
    const n = data.indices.length;
    this.length = dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
    this.config = {
      source: data.source,
      transform: augment?.spec ?? null,
      outShape: this.shape,
      seed,
      skipBad: data.skipBad,
      concurrency: data.source.kind === "images" ? Math.max(2, Math.min(4, availableParallelism())) : 1,
    };
    this.normalizeInfo = augment instanceof Transform ? lastNormalize(augment) : augment ? lastNormalize(augment.views[0]!) : undefined;
  }

  /** The epoch the next iteration will run. */
  get epoch(): number {
    return this.nextEpoch;
  }

  /** The dataset order of epoch `epoch` (source indices): shuffled with (seed, epoch) or as stored. */
  order(epoch: number): Int32Array {
    const order = Int32Array.from(this.data.indices);
    if (this.options.shuffle) shuffleInPlace(order, new Rng(this.options.seed, SHUFFLE_STREAM, epoch));
    return order;
  }

  [Symbol.asyncIterator](): AsyncIterator<B> {
    return this.run(this.nextEpoch++);
  }

  private async *run(epoch: number): AsyncGenerator<B> {
    const order = this.order(epoch);
    const jobs: BatchJob[] = [];
    for (let b = 0; b < this.length; b++) {
      jobs.push({ id: b, epoch, indices: order.subarray(b * this.batchSize, Math.min(order.length, (b + 1) * this.batchSize)) });
    }
    if (jobs.length === 0) return;
    const runner: BatchRunner =
      this.options.workers === 0 ? await InProcessRunner.start(this.config) : await WorkerPool.start(this.config, this.options.workers);
    const pending: Promise<BatchResult>[] = [];
    let next = 0;
    const refill = () => {
      while (pending.length < this.options.prefetch && next < jobs.length) {
        const promise = runner.run({ ...jobs[next]!, indices: Int32Array.from(jobs[next]!.indices) });
        promise.catch(() => {}); // observed when its turn comes; never an unhandled rejection
        pending.push(promise);
        next++;
      }
    };
    try {
      refill();
      while (pending.length > 0) {
        // An interrupted notebook cell stops the epoch here (the finally below closes the workers).
        currentAbortSignal()?.throwIfAborted();
        const result = await pending.shift()!;
        refill();
        this.skipped.push(...result.skipped);
        if (result.kept.length === 0) continue;
        yield this.toBatch(result, jobs[result.id]!);
      }
    } finally {
      await runner.close();
    }
  }

  private toBatch(result: BatchResult, job: BatchJob): B {
    const size = result.kept.length;
    const [h, w, c] = this.shape;
    const labels = Int32Array.from(result.kept, (p) => this.data.labels[job.indices[p]!]!);
    const views = result.views.map((v) => tf.tensor4d(v, [size, h, w, c], "float32"));
    const y = tf.tensor1d(labels, "int32");
    const dispose = () => tf.dispose([...views, y]);
    const batch = this.config.transform?.kind === "views" ? { views, y, size, dispose } : { x: views[0]!, y, size, dispose };
    // Shown in a notebook as an image grid with class names (not enumerable: printing stays short).
    Object.defineProperty(batch, JUPYTER_DISPLAY, { value: () => batchBundle(views, y, this.data.classes, this.normalizeInfo) });
    return batch as unknown as B;
  }
}

/** The normalisation a transform ends with, so displays can undo it. */
function lastNormalize(t: Transform): { mean: readonly number[]; std: readonly number[] } | undefined {
  const steps = t.spec.kind === "compose" ? t.spec.steps : [t.spec];
  const last = steps.at(-1);
  return last?.kind === "normalize" ? { mean: last.mean, std: last.std } : undefined;
}
