/** Evaluation: loss, top-1 and top-3 accuracy (and per class) over a batch source. */
import { tf } from "../engine/index.js";
import type { BatchSource } from "./batches.js";
import { crossEntropy } from "./loss.js";
import type { TrainableModel } from "./model.js";

/** What {@link evaluate} measures. */
export interface EvalResult {
  /** Mean cross-entropy (no label smoothing). */
  loss: number;
  /** Fraction of samples whose label is the top prediction. */
  top1: number;
  /** Fraction whose label is among the three top predictions (top-k for fewer than 3 classes). */
  top3: number;
  /** Samples evaluated. */
  count: number;
  /** Top-1 accuracy per class (NaN for a class absent from the data). */
  perClass: number[];
  /** Seconds spent. */
  seconds: number;
}

/** Per-batch sums that {@link evaluate} adds up. */
export interface BatchCounts {
  lossSum: number;
  top1: number;
  top3: number;
  count: number;
  /** Per class: [correct, seen]. */
  perClass: Array<[number, number]>;
}

/** Loss sum and correct counts of one batch of logits (nothing is disposed but what this creates). */
export async function countBatch(logits: tf.Tensor2D, labels: tf.Tensor1D): Promise<BatchCounts> {
  const k = logits.shape[1];
  const [lossT, topT] = tf.tidy(() => [tf.mul(crossEntropy(logits, labels), labels.shape[0]), tf.topk(logits, Math.min(3, k)).indices]);
  const [lossV, top, y] = await Promise.all([lossT!.data(), topT!.data(), labels.data()]);
  tf.dispose([lossT!, topT!]);
  const width = Math.min(3, k);
  const counts: BatchCounts = { lossSum: lossV[0]!, top1: 0, top3: 0, count: y.length, perClass: Array.from({ length: k }, () => [0, 0]) };
  for (let i = 0; i < y.length; i++) {
    const label = y[i]!;
    const first = top[i * width] === label;
    let inTop = false;
    for (let j = 0; j < width; j++) if (top[i * width + j] === label) inTop = true;
    if (first) counts.top1++;
    if (inTop) counts.top3++;
    const cls = counts.perClass[label];
    if (cls) {
      cls[1]++;
      if (first) cls[0]++;
    }
  }
  return counts;
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** Stop early when this signal aborts (the result covers the batches seen). */
  signal?: AbortSignal;
  /** Called (and awaited) after each batch with the number of samples seen so far. */
  onBatch?: (seen: number) => void | Promise<void>;
}

/**
 * Runs the model in inference mode over every batch of epoch 0 of `source` and returns the mean
 * loss, top-1 and top-3 accuracy. Leaks nothing; batches are disposed.
 */
export async function evaluate(model: TrainableModel, source: BatchSource, options: EvaluateOptions = {}): Promise<EvalResult> {
  const started = performance.now();
  const total: BatchCounts = { lossSum: 0, top1: 0, top3: 0, count: 0, perClass: [] };
  for await (const batch of source.epoch(0)) {
    let counts: BatchCounts;
    try {
      const logits = model.apply(batch.x, { training: false });
      try {
        counts = await countBatch(logits, batch.y);
      } finally {
        logits.dispose();
      }
    } finally {
      batch.dispose();
    }
    addCounts(total, counts);
    await options.onBatch?.(total.count);
    // A full event-loop turn: an interrupt (the signal) and live outputs must get through.
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    if (options.signal?.aborted) break;
  }
  return summarize(total, (performance.now() - started) / 1000);
}

/** Adds `b` into `a`. */
export function addCounts(a: BatchCounts, b: BatchCounts): void {
  a.lossSum += b.lossSum;
  a.top1 += b.top1;
  a.top3 += b.top3;
  a.count += b.count;
  b.perClass.forEach(([c, n], i) => {
    const slot = (a.perClass[i] ??= [0, 0]);
    slot[0] += c;
    slot[1] += n;
  });
}

function summarize(t: BatchCounts, seconds: number): EvalResult {
  const n = Math.max(t.count, 1);
  return {
    loss: t.lossSum / n,
    top1: t.top1 / n,
    top3: t.top3 / n,
    count: t.count,
    perClass: t.perClass.map(([c, seen]) => (seen > 0 ? c / seen : NaN)),
    seconds,
  };
}
