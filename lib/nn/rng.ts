/**
 * A seeded random number generator (xoshiro128**, seeded through splitmix32): model
 * initialisation and drop-path masks draw from it, so a seed reproduces a model exactly on
 * every backend and every run.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | undefined;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`Rng seed must be a finite number, got ${seed}`);
    let z = seed >>> 0 ^ Math.floor(seed / 2 ** 32);
    const next = (): number => {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b) >>> 0;
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35) >>> 0;
      return (t ^ (t >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1), 53 random bits. */
  uniform(): number {
    return (this.nextUint32() * 2 ** 21 + (this.nextUint32() >>> 11)) / 2 ** 53;
  }

  /** Standard normal (Box–Muller, both values used). */
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /**
   * The generator's whole state (four 32-bit words and the spare normal), JSON-safe: a generator
   * given it through {@link setState} continues with exactly the same draws.
   */
  state(): RngState {
    return { s: [this.s0, this.s1, this.s2, this.s3], spare: this.spare ?? null };
  }

  /** Continues from a {@link state} taken earlier (from this generator or another). */
  setState(state: RngState): void {
    const words = state?.s;
    const valid = Array.isArray(words) && words.length === 4 && words.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32);
    if (!valid || (state.spare !== null && typeof state.spare !== "number") || words.every((w) => w === 0)) {
      throw new TypeError(`not an Rng state: expected { s: four unsigned 32-bit integers, not all zero, spare: number | null }, got ${JSON.stringify(state)}`);
    }
    [this.s0, this.s1, this.s2, this.s3] = words as [number, number, number, number];
    this.spare = state.spare ?? undefined;
  }

  /** An independent generator derived from this one (for a sub-stream, e.g. drop-path masks). */
  fork(): Rng {
    return new Rng(this.nextUint32() * 2 ** 21 + (this.nextUint32() >>> 11));
  }
}

/** What {@link Rng.state} returns. */
export interface RngState {
  s: number[];
  spare: number | null;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
