/**
 * Builds one batch: reads each sample's bytes, turns them into floats in [0, 1], runs the
 * augmentation with a generator seeded by (seed, epoch, sample, view), and packs the results into
 * one NHWC float32 array per view. Runs in worker threads (see worker.ts) or, with `workers: 0`,
 * on the calling thread; both give identical bytes.
 *
 * @packageDocumentation
 */
import { BadImageError } from "../errors.js";
import { bytesToImage, type Shape } from "../image.js";
import { Rng } from "../random.js";
import { applyTransform } from "../transforms/apply.js";
import type { TransformSpec, ViewsSpec } from "../transforms/spec.js";
import { openReader, type SampleReader, type SourceSpec } from "./source.js";

/** Everything a batch assembler needs; plain data, so it can be posted to a worker thread. */
export interface AssemblerConfig {
  source: SourceSpec;
  /** The augmentation, or null for none. */
  transform: TransformSpec | ViewsSpec | null;
  /** The shape of one view after the transform. */
  outShape: Shape;
  seed: number;
  /** Leave out undecodable images (counted) instead of failing. */
  skipBad: boolean;
  /** Samples read at once (matters for decoded images only). */
  concurrency: number;
}

/** One batch to build: the source indices of its samples, in order. */
export interface BatchJob {
  id: number;
  epoch: number;
  indices: Int32Array;
}

/** A sample left out of a batch because its image could not be decoded. */
export interface SkippedSample {
  index: number;
  where: string;
  reason: string;
}

/** A built batch: one NHWC array per view, and which job positions it holds (all but skipped ones). */
export interface BatchResult {
  id: number;
  views: Float32Array[];
  kept: Int32Array;
  skipped: SkippedSample[];
}

/** Stream identifiers mixed into each sample's seed, so augmentation never reuses the shuffle's stream. */
const AUGMENT_STREAM = 0x41554720;

export class BatchAssembler {
  private constructor(
    private readonly config: AssemblerConfig,
    private readonly reader: SampleReader,
  ) {}

  static async open(config: AssemblerConfig): Promise<BatchAssembler> {
    return new BatchAssembler(config, await openReader(config.source));
  }

  async assemble(job: BatchJob): Promise<BatchResult> {
    const { transform, outShape, seed } = this.config;
    const viewSpecs: (TransformSpec | null)[] = transform === null ? [null] : transform.kind === "views" ? [...transform.views] : [transform];
    const n = job.indices.length;
    const outSize = outShape[0] * outShape[1] * outShape[2];
    const views = viewSpecs.map(() => new Float32Array(n * outSize));
    const ok = new Uint8Array(n);
    const skipped: SkippedSample[] = [];
    const inShape = this.reader.shape;
    const inSize = inShape[0] * inShape[1] * inShape[2];

    const one = async (position: number, bytes: Uint8Array) => {
      const index = job.indices[position]!;
      try {
        await this.reader.read(index, bytes);
      } catch (error) {
        if (this.config.skipBad && error instanceof BadImageError) {
          skipped.push({ index, where: this.reader.describe(index), reason: error.message });
          return;
        }
        throw error;
      }
      ok[position] = 1;
      viewSpecs.forEach((spec, v) => {
        const slot = views[v]!.subarray(position * outSize, (position + 1) * outSize);
        if (spec === null) {
          bytesToImage(bytes, inShape, slot);
          return;
        }
        const image = applyTransform(spec, bytesToImage(bytes, inShape), new Rng(seed, AUGMENT_STREAM, job.epoch, index, v));
        slot.set(image.data);
      });
    };

    // A few samples in flight: decoders wait on sharp's thread pool, record readers do not wait at all.
    // On failure no new sample starts, and the error of the lowest failing position is reported,
    // so the same data fails the same way whatever the timing.
    let cursor = 0;
    const failures = new Map<number, unknown>();
    const lanes = Math.max(1, Math.min(this.config.concurrency, n));
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        const bytes = new Uint8Array(inSize);
        while (cursor < n && failures.size === 0) {
          const position = cursor++;
          await one(position, bytes).catch((error: unknown) => failures.set(position, error));
        }
      }),
    );
    if (failures.size > 0) throw failures.get(Math.min(...failures.keys()));

    let kept = Int32Array.from({ length: n }, (_, i) => i);
    if (skipped.length > 0) {
      kept = kept.filter((p) => ok[p] === 1);
      kept.forEach((p, k) => {
        for (const view of views) view.copyWithin(k * outSize, p * outSize, (p + 1) * outSize);
      });
      skipped.sort((a, b) => a.index - b.index);
    }
    return { id: job.id, views: views.map((v) => (kept.length === n ? v : v.slice(0, kept.length * outSize))), kept, skipped };
  }

  async close(): Promise<void> {
    await this.reader.close();
  }
}
