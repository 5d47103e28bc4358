/**
 * NumPy's legacy `RandomState` permutation, bit for bit: MT19937 seeded with `init_genrand`, and
 * the Fisher–Yates shuffle NumPy runs with masked rejection sampling (`random_interval`).
 *
 * CLUENet's Mini-ImageNet re-split shuffles each class with pandas' `sample(frac=1, random_state=1)`,
 * which is `RandomState(1).permutation(n)`; reproducing that exactly gives the very same 48,000 / 12,000
 * images the paper trained and evaluated on, without Python.
 *
 * @packageDocumentation
 */

const N = 624;
const M = 397;

/** The Mersenne Twister MT19937 (Matsumoto & Nishimura), as NumPy's legacy generator uses it. */
class Mt19937 {
  private readonly mt = new Uint32Array(N);
  private index = N;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`MT19937 seed must be an integer in [0, 2^32 - 1], got ${seed}`);
    }
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = this.mt[i - 1]! ^ (this.mt[i - 1]! >>> 30);
      // 1812433253 * prev + i, modulo 2^32, without losing bits to doubles.
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  uint32(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i]! & 0x80000000) | (mt[(i + 1) % N]! & 0x7fffffff);
      mt[i] = mt[(i + M) % N]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }
}

/** NumPy's `random_interval(max)`: a uniform integer in [0, max] by masking and rejection. */
function randomInterval(rng: Mt19937, max: number): number {
  if (max === 0) return 0;
  if (max > 0xffffffff) throw new RangeError("permutations longer than 2^32 are not supported");
  let mask = max;
  mask |= mask >>> 1;
  mask |= mask >>> 2;
  mask |= mask >>> 4;
  mask |= mask >>> 8;
  mask |= mask >>> 16;
  mask >>>= 0;
  let value: number;
  do value = (rng.uint32() & mask) >>> 0;
  while (value > max);
  return value;
}

/**
 * `numpy.random.RandomState(seed).permutation(n)`: the same sequence NumPy (and pandas'
 * `sample(frac=1, random_state=seed)`) produces.
 */
export function numpyPermutation(n: number, seed: number): Int32Array {
  const rng = new Mt19937(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i >= 1; i--) {
    const j = randomInterval(rng, i);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}
