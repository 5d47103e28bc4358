/**
 * Learning-rate schedules: linear warmup then cosine decay, as timm's `CosineLRScheduler`, which
 * the papers' official scripts step once per epoch (`t_initial` = all epochs, warmup included).
 */

/** Options of {@link WarmupCosine}; the defaults are the papers' (warmup from 1e-6, cosine to 1e-5). */
export interface WarmupCosineOptions {
  /** Length of the cosine cycle in epochs, warmup included (timm's `t_initial`); after it the rate stays at `minLr`. */
  epochs: number;
  /** Epochs of linear warmup from `warmupLr` to the base rate (default 0). */
  warmupEpochs?: number;
  /** The rate the cosine ends at (default 1e-5). */
  minLr?: number;
  /** The rate warmup starts from (default 1e-6). */
  warmupLr?: number;
  /**
   * timm's `warmup_prefix`: false (the default, as the official scripts) lets the cosine run over
   * the whole cycle, so it is already past its top when warmup ends; true starts it after warmup.
   */
  warmupPrefix?: boolean;
  /**
   * "epoch" (default): one rate per epoch, as the official scripts (`scheduler.step(epoch)`);
   * "step": the same curve at fractional epochs, updated every step (smoother for short runs).
   */
  granularity?: "epoch" | "step";
}

/** A schedule as a pure function of training progress. */
export interface Schedule {
  /** The learning rate at `epoch` (0-based, fractional for a position inside an epoch) for base rate `base`. */
  rate(base: number, epoch: number): number;
  /** A JSON description (what checkpoints store). */
  toJSON(): Record<string, unknown>;
}

/** Linear warmup, then half a cosine from the base rate to `minLr`; see {@link WarmupCosineOptions}. */
export class WarmupCosine implements Schedule {
  readonly epochs: number;
  readonly warmupEpochs: number;
  readonly minLr: number;
  readonly warmupLr: number;
  readonly warmupPrefix: boolean;
  readonly granularity: "epoch" | "step";

  constructor(options: WarmupCosineOptions) {
    const positive = (name: string, v: number, allowZero: boolean): number => {
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
        throw new RangeError(`warmupCosine: ${name} must be a ${allowZero ? "non-negative" : "positive"} number, got ${String(v)}`);
      }
      return v;
    };
    this.epochs = positive("epochs", options.epochs, false);
    this.warmupEpochs = positive("warmupEpochs", options.warmupEpochs ?? 0, true);
    this.minLr = positive("minLr", options.minLr ?? 1e-5, true);
    this.warmupLr = positive("warmupLr", options.warmupLr ?? 1e-6, true);
    this.warmupPrefix = options.warmupPrefix ?? false;
    this.granularity = options.granularity ?? "epoch";
    if (this.granularity !== "epoch" && this.granularity !== "step") {
      throw new RangeError(`warmupCosine: granularity must be "epoch" or "step", got ${JSON.stringify(options.granularity)}`);
    }
    const cycle = this.warmupPrefix ? this.epochs - this.warmupEpochs : this.epochs;
    if (cycle <= 0) throw new RangeError(`warmupCosine: ${this.warmupEpochs} warmup epochs leave no cosine in ${this.epochs} epochs`);
  }

  rate(base: number, epoch: number): number {
    const t = this.granularity === "epoch" ? Math.floor(epoch + 1e-9) : epoch;
    if (t < this.warmupEpochs) return this.warmupLr + (t * (base - this.warmupLr)) / this.warmupEpochs;
    const tc = this.warmupPrefix ? t - this.warmupEpochs : t;
    const cycle = this.warmupPrefix ? this.epochs - this.warmupEpochs : this.epochs;
    if (tc >= cycle) return this.minLr;
    return this.minLr + 0.5 * (base - this.minLr) * (1 + Math.cos((Math.PI * tc) / cycle));
  }

  toJSON(): Record<string, unknown> {
    return {
      kind: "warmupCosine",
      epochs: this.epochs,
      warmupEpochs: this.warmupEpochs,
      minLr: this.minLr,
      warmupLr: this.warmupLr,
      warmupPrefix: this.warmupPrefix,
      granularity: this.granularity,
    };
  }
}

/** The base rate throughout. */
export class ConstantRate implements Schedule {
  rate(base: number): number {
    return base;
  }

  toJSON(): Record<string, unknown> {
    return { kind: "constant" };
  }
}

/** Warmup + cosine: see {@link WarmupCosine}. */
export function warmupCosine(options: WarmupCosineOptions): WarmupCosine {
  return new WarmupCosine(options);
}

/** Rebuilds a schedule from its {@link Schedule.toJSON} form. */
export function scheduleFromJSON(json: Record<string, unknown>): Schedule {
  if (json.kind === "constant") return new ConstantRate();
  if (json.kind === "warmupCosine") return new WarmupCosine(json as unknown as WarmupCosineOptions);
  throw new Error(`unknown learning-rate schedule ${JSON.stringify(json.kind)} in the checkpoint (known: warmupCosine, constant)`);
}
