/**
 * The seeded randomness of the clustering code: every random choice (node orders, k-means++
 * draws, refinement moves, batches) comes from one of these, so a seed reproduces a run exactly.
 * The generator is the data pipeline's (xoshiro128**); this adds the few draws clustering needs.
 */
import { Rng, permutation, shuffleInPlace } from "../data/random.js";

export class Random extends Rng {
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    super(Math.floor(seed));
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.float();
  }

  /** Shuffles in place (Fisher–Yates) and returns the array. */
  shuffle<T extends Int32Array | number[]>(array: T): T {
    shuffleInPlace(array, this);
    return array;
  }

  /** 0..n-1 in random order. */
  permutation(n: number): Int32Array {
    return permutation(n, this);
  }
}
