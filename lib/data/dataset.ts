/**
 * The dataset object every reader returns: `length`, `classes`, `get(i)`, `batches(…)`, `subset(…)`.
 *
 * @packageDocumentation
 */
import { inspect } from "node:util";
import { tf } from "../engine/tf.js";
import { datasetBundle } from "./display.js";
import { DataError } from "./errors.js";
import { bytesToImage, formatShape, type Image, type Shape } from "./image.js";
import { BatchLoader, type Batch, type BatchOptions, type MultiViewBatch } from "./loader.js";
import { BatchAssembler } from "./pipeline/assemble.js";
import { openReader, sourceLength, type SourceSpec } from "./pipeline/source.js";
import { Rng, permutation } from "./random.js";
import type { MultiView } from "./transforms/spec.js";

/** One sample: an HWC float image in [0, 1] and its integer label (−1 when unlabelled). */
export interface Sample {
  image: Image;
  label: number;
}

/** Samples a reader left out while opening a dataset (only when asked to, with `skipBad`). */
export interface SkipReport {
  count: number;
  /** The first few, with why. */
  examples: string[];
}

/** What a format reader hands to {@link ImageDataset}. */
export interface DatasetInit {
  /** A title such as "CIFAR-10 (train)". */
  name: string;
  classes: readonly string[];
  source: SourceSpec;
  /** Labels by source index (−1 = unlabelled). */
  labels: Int32Array;
  /** Where the data was read from. */
  origin: string;
  skipBad?: boolean;
  skipped?: SkipReport;
}

/** Options of {@link ImageDataset.subset}. */
export interface SubsetOptions {
  /** Seed of the selection (default 0). */
  seed?: number;
  /** Keep each class's share of the samples (default true when the dataset has labels). */
  stratified?: boolean;
}

const SUBSET_STREAM = 0x53554253;

/**
 * A labelled image dataset. Images are HWC float32 in [0, 1]; labels are integers indexing
 * `classes`. Samples are read on demand: only what a batch needs is in memory (IDX files are
 * streamed into memory once, as they are small and compressed).
 */
export class ImageDataset {
  /** A title such as "CIFAR-10 (train)". */
  readonly name: string;
  /** Class names, indexed by label. */
  readonly classes: readonly string[];
  /** Height, width, channels of every image. */
  readonly shape: Shape;
  /** Where the data was read from. */
  readonly origin: string;
  /** Samples left out when the dataset was opened (with `skipBad`), else a zero count. */
  readonly skipped: SkipReport;
  private readonly source: SourceSpec;
  /** Labels by source index. */
  private readonly sourceLabels: Int32Array;
  /** Source index of each sample of this dataset. */
  private readonly indices: Int32Array;
  private readonly skipBad: boolean;

  constructor(init: DatasetInit, indices?: Int32Array) {
    this.name = init.name;
    this.classes = init.classes;
    this.source = init.source;
    this.shape = init.source.shape;
    this.origin = init.origin;
    this.sourceLabels = init.labels;
    this.skipBad = init.skipBad ?? false;
    this.skipped = init.skipped ?? { count: 0, examples: [] };
    const n = sourceLength(init.source);
    if (init.labels.length !== n) throw new Error(`internal: ${n} samples but ${init.labels.length} labels`);
    this.indices = indices ?? Int32Array.from({ length: n }, (_, i) => i);
  }

  /** Number of samples. */
  get length(): number {
    return this.indices.length;
  }

  /** The label of every sample, in dataset order. */
  get labels(): Int32Array {
    return Int32Array.from(this.indices, (i) => this.sourceLabels[i]!);
  }

  /** Samples per class (unlabelled samples are not counted). */
  classCounts(): number[] {
    const counts = new Array<number>(this.classes.length).fill(0);
    for (const i of this.indices) {
      const label = this.sourceLabels[i]!;
      if (label >= 0) counts[label]!++;
    }
    return counts;
  }

  /** Reads sample `i` (0 ≤ i < length). */
  async get(i: number): Promise<Sample> {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`${this.name}: index ${i} is out of range [0, ${this.length})`);
    }
    const reader = await openReader(this.source);
    try {
      const [h, w, c] = this.shape;
      const bytes = new Uint8Array(h * w * c);
      await reader.read(this.indices[i]!, bytes);
      return { image: bytesToImage(bytes, this.shape), label: this.sourceLabels[this.indices[i]!]! };
    } finally {
      await reader.close();
    }
  }

  /**
   * Every sample, un-augmented, as two tensors: `x` float32 `[N, H, W, C]` in [0, 1] and `y` int32
   * `[N]`, read on the calling thread. For sets that fit in memory (take a `subset` first
   * otherwise); the caller owns and disposes the tensors.
   */
  async toTensors(): Promise<{ x: tf.Tensor4D; y: tf.Tensor1D }> {
    const assembler = await BatchAssembler.open({ source: this.source, transform: null, outShape: this.shape, seed: 0, skipBad: false, concurrency: 4 });
    try {
      const { views } = await assembler.assemble({ id: 0, epoch: 0, indices: this.indices });
      return { x: tf.tensor4d(views[0]!, [this.length, ...this.shape]), y: tf.tensor1d(this.labels, "int32") };
    } finally {
      await assembler.close();
    }
  }

  /**
   * A seeded, reproducible async iterator of batches `{ x: [B, H, W, C] float32, y: [B] int32 }`
   * (or `{ views, y }` with a multi-view `augment`). Batches are built ahead in a worker thread.
   *
   * **The consumer owns each batch's tensors** and must free them: `batch.dispose()` (or
   * `tf.dispose(batch)`) once the step is done. Nothing else is allocated on the TensorFlow.js side,
   * so leaving a loop early leaks nothing. Iterating the same loader again runs the next epoch.
   *
   * @example
   * ```ts
   * const loader = train.batches({ batchSize: 128, shuffle: true, seed: 1, augment: transforms.recipes.cifarTrain() });
   * for (let epoch = 0; epoch < 10; epoch++) {
   *   for await (const batch of loader) {
   *     optimizer.minimize(() => loss(model.apply(batch.x), batch.y));
   *     batch.dispose();
   *   }
   * }
   * ```
   */
  batches(options: BatchOptions & { augment: MultiView }): BatchLoader<MultiViewBatch>;
  batches(options: BatchOptions): BatchLoader<Batch>;
  batches(options: BatchOptions): BatchLoader<Batch> | BatchLoader<MultiViewBatch> {
    return new BatchLoader<Batch>(
      {
        name: this.name,
        source: this.source,
        indices: this.indices,
        labels: this.sourceLabels,
        shape: this.shape,
        skipBad: this.skipBad,
        classes: this.classes,
      },
      options,
    );
  }

  /**
   * A subset: `n` samples chosen with a seed (stratified by class unless told otherwise, so a
   * quick run sees every class in its usual proportion), or the samples at the given positions.
   * Chosen samples keep their dataset order.
   */
  subset(n: number, options?: SubsetOptions): ImageDataset;
  subset(positions: ArrayLike<number>): ImageDataset;
  subset(what: number | ArrayLike<number>, options: SubsetOptions = {}): ImageDataset {
    let positions: Int32Array;
    if (typeof what === "number") {
      if (!Number.isInteger(what) || what < 0 || what > this.length) {
        throw new RangeError(`${this.name}: cannot take a subset of ${what} from ${this.length} samples`);
      }
      const stratified = options.stratified ?? this.classes.length > 0;
      positions = stratified ? this.stratifiedPick(what, options.seed ?? 0) : permutation(this.length, new Rng(options.seed ?? 0, SUBSET_STREAM)).slice(0, what);
      positions.sort();
    } else {
      positions = Int32Array.from(what);
      const bad = positions.findIndex((p) => !Number.isInteger(p) || p < 0 || p >= this.length);
      if (bad >= 0) throw new RangeError(`${this.name}: subset position ${positions[bad]} is out of range [0, ${this.length})`);
    }
    const indices = Int32Array.from(positions, (p) => this.indices[p]!);
    return new ImageDataset(this.init(`${this.name.replace(/ \[subset of \d+\]$/, "")} [subset of ${indices.length}]`), indices);
  }

  private stratifiedPick(n: number, seed: number): Int32Array {
    // Group positions by label (unlabelled ones form their own group), give each group its share
    // by largest remainder, then take a seeded random sample inside each group.
    const groups = new Map<number, number[]>();
    this.indices.forEach((src, p) => {
      const label = this.sourceLabels[src]!;
      let g = groups.get(label);
      if (!g) groups.set(label, (g = []));
      g.push(p);
    });
    const keys = [...groups.keys()].sort((a, b) => a - b);
    const exact = keys.map((k) => (n * groups.get(k)!.length) / this.length);
    const take = exact.map(Math.floor);
    let left = n - take.reduce((a, b) => a + b, 0);
    const byRemainder = keys.map((_, j) => j).sort((a, b) => exact[b]! - take[b]! - (exact[a]! - take[a]!) || a - b);
    for (const j of byRemainder) {
      if (left === 0) break;
      take[j]!++;
      left--;
    }
    const out: number[] = [];
    keys.forEach((k, j) => {
      const members = groups.get(k)!;
      const order = permutation(members.length, new Rng(seed, SUBSET_STREAM, k));
      for (let t = 0; t < take[j]!; t++) out.push(members[order[t]!]!);
    });
    return Int32Array.from(out);
  }

  private init(name: string): DatasetInit {
    return { name, classes: this.classes, source: this.source, labels: this.sourceLabels, origin: this.origin, skipBad: this.skipBad, skipped: this.skipped };
  }

  /** One line: name, size, shape, classes, origin. */
  toString(): string {
    const skipped = this.skipped.count > 0 ? `, ${this.skipped.count} unreadable skipped` : "";
    return `${this.name}: ${this.length.toLocaleString("en")} images ${formatShape(this.shape)}, ${this.classes.length} classes${skipped}, from ${this.origin}`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  /** Notebook display: a grid of the first images with their class names (Jupyter display protocol). */
  async [Symbol.for("Jupyter.display")](): Promise<Record<string, unknown>> {
    return datasetBundle(this);
  }
}

/** Checks that every label is in [0, classes) (or −1 when `allowUnlabelled`), naming the file. */
export function checkLabels(labels: ArrayLike<number>, classes: number, file: string, allowUnlabelled = false): void {
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!(Number.isInteger(l) && ((l >= 0 && l < classes) || (allowUnlabelled && l === -1)))) {
      throw new DataError(`label ${l} of sample ${i} is out of range (expected 0–${classes - 1}); the file is corrupt or not this dataset`, file);
    }
  }
}
