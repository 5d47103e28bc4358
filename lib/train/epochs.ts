/** The epoch loop shared by the self-supervised pre-trainings (SimCLR, autoencoder reconstruction). */
import type { tf } from "../engine/index.js";

/** What {@link runEpochs} did. */
export interface EpochsRecord {
  /** Mean loss of each epoch (over its batches; NaN for an epoch without batches). */
  losses: number[];
  steps: number;
  /** Wall time of all epochs. */
  seconds: number;
  imagesPerSecond: number;
}

/**
 * Iterates `loader` `epochs` times (each iteration is one epoch), running `step` on every batch
 * and freeing the batch afterwards. `step` performs one optimiser update and returns its loss,
 * which is read and freed here.
 */
export async function runEpochs<B extends { size: number; dispose(): void }>(
  loader: AsyncIterable<B>,
  epochs: number,
  step: (batch: B) => tf.Scalar,
  options: { onEpoch?: (epoch: number, loss: number, seconds: number) => void; signal?: AbortSignal } = {},
): Promise<EpochsRecord> {
  const started = performance.now();
  const losses: number[] = [];
  let steps = 0;
  let images = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const epochStarted = performance.now();
    let total = 0;
    let count = 0;
    for await (const batch of loader) {
      try {
        options.signal?.throwIfAborted();
        const cost = step(batch);
        total += (await cost.data())[0]!;
        cost.dispose();
        count++;
        steps++;
        images += batch.size;
      } finally {
        batch.dispose();
      }
    }
    losses.push(count ? total / count : Number.NaN);
    options.onEpoch?.(epoch, losses.at(-1)!, (performance.now() - epochStarted) / 1000);
  }
  const seconds = (performance.now() - started) / 1000;
  return { losses, steps, seconds, imagesPerSecond: images / seconds };
}
