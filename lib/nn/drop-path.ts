/** Stochastic depth. */
import { tf } from "../engine/index.js";
import type { Rng } from "./rng.js";

/**
 * timm's DropPath: in training, zeroes a whole sample's residual branch with probability `rate`
 * and scales the kept ones by 1/(1−rate); otherwise the identity. The per-sample coin flips come
 * from `rng`, so a seeded model drops the same paths on every backend.
 */
export function dropPath<T extends tf.Tensor>(x: T, rate: number, training: boolean, rng: Rng): T {
  const mask = dropPathMask(x.shape[0]!, rate, training, rng);
  if (!mask) return x;
  const shape = [mask.length, ...new Array<number>(x.rank - 1).fill(1)];
  return tf.tidy(() => tf.mul(x, tf.tensor(mask, shape))) as T;
}

/**
 * Drop path's per-sample factors (0 or 1/(1−rate)) for a batch, drawn from `rng` one per
 * sample, or null where drop path is the identity (not training, or rate 0: nothing is drawn).
 * {@link dropPath} multiplies by them; a residual update can take them as its mask.
 */
export function dropPathMask(batch: number, rate: number, training: boolean, rng: Rng): Float32Array | null {
  if (!training || rate === 0) return null;
  const keep = 1 - rate;
  const mask = new Float32Array(batch);
  for (let i = 0; i < batch; i++) mask[i] = rng.uniform() < keep ? 1 / keep : 0;
  return mask;
}

/** Per-block rates growing linearly over all blocks: rate·i/(total−1), as the official code. */
export function dropPathSchedule(rate: number, depths: readonly number[]): number[][] {
  const total = depths.reduce((a, b) => a + b, 0);
  let first = 0;
  return depths.map((depth) => {
    const rates = Array.from({ length: depth }, (_, j) => (total > 1 ? (rate * (first + j)) / (total - 1) : 0));
    first += depth;
    return rates;
  });
}
