/**
 * Ablations: train every row of a table (a model variant) under one budget and one list of
 * seeds, and report mean ± spread over the seeds.
 */
import { inspect } from "node:util";
import { display, table, type DisplayHandle, type Rich } from "../display/index.js";
import { currentAbortSignal, getDisplaySink, JUPYTER_DISPLAY, type MimeBundle } from "../display/protocol.js";
import type { BatchSource } from "./batches.js";
import type { Callback } from "./callbacks/types.js";
import type { EvalResult } from "./evaluate.js";
import type { TrainableModel } from "./model.js";
import { Trainer, type TrainerOptions } from "./trainer.js";
import { seconds } from "./callbacks/format.js";

/** One row: a name and the model overrides it stands for. */
export interface AblationRow {
  name: string;
  /** Passed to the model builder (for CLUENet: `cluenet.create` overrides). */
  overrides: Record<string, unknown>;
  /** What the row changes, for the table. */
  note?: string;
}

/**
 * The CLUENet ablation rows the paper's innovations suggest: each innovation off in turn
 * (global soft aggregation → CoC-style hard aggregation, the gate, assignment sharing, Improved
 * Cluster Pooling → FEC's pool or a strided conv), fewer clusters, a fixed temperature, and
 * Context Clusters' mixer in the same skeleton. Overrides are `cluenet.create` options.
 */
export const CLUENET_ABLATIONS: readonly AblationRow[] = [
  { name: "CLUENet", overrides: {}, note: "all innovations on" },
  { name: "hard local aggregation", overrides: { aggregation: "local-hard" }, note: "centers from hard-assigned pixels only (CoC-style)" },
  { name: "no gate", overrides: { gate: false }, note: "centers = aggregated features" },
  { name: "no assignment sharing", overrides: { shareAssignment: false }, note: "every block assigns again" },
  { name: "FEC pool", overrides: { pool: "fec" }, note: "FEC's cluster pooling between stages" },
  { name: "strided conv pool", overrides: { pool: "conv" }, note: "3×3 stride-2 conv between stages" },
  { name: "2×2 clusters", overrides: { clusters: 2 }, note: "a 2×2 grid of centers in every stage" },
  { name: "fixed temperature", overrides: { learnableTemperature: false }, note: "τ fixed at its initial 2.13" },
  { name: "CoC mixer", overrides: { mixer: "coc" }, note: "Context Clusters' token mixer" },
];

/** A model the runner can train, count and free. */
export type AblationModel = TrainableModel & { countParams?(): number; dispose?(): void };

/** Options of {@link runAblation}. */
export interface AblationOptions {
  rows: readonly AblationRow[];
  /** One training per row and seed (default [0, 1, 2]). */
  seeds?: readonly number[];
  /** Builds the row's model for a seed (e.g. `(row, seed) => cluenet.create(name, { numClasses, seed, ...row.overrides })`). */
  build(row: AblationRow, seed: number): AblationModel;
  /** The training batches for a seed (its shuffle and augmentation seed). */
  train(seed: number): BatchSource;
  /** Evaluated after training. */
  validation: BatchSource;
  /** The budget every run gets: epochs, and optionally a step cap. */
  epochs: number;
  maxSteps?: number;
  /** Optimizer, schedule, label smoothing, clipping — the same for every run. */
  trainer?: TrainerOptions;
  /** Callbacks of every run (default none: the runner shows its own progress). */
  callbacks?: (row: AblationRow, seed: number) => Callback[];
  /** Stops between steps; the result holds the runs finished so far. Default: the running cell's. */
  signal?: AbortSignal | null;
  /** Show the table and update it after every run (default: in a notebook). */
  live?: boolean;
}

/** One finished training of one row. */
export interface AblationRun {
  seed: number;
  top1: number;
  top3: number;
  loss: number;
  steps: number;
  seconds: number;
}

/** Mean and spread (sample standard deviation; 0 for a single run). */
export interface MeanSpread {
  mean: number;
  std: number;
}

/** A row's results. */
export interface AblationRowResult {
  row: AblationRow;
  params: number | undefined;
  runs: AblationRun[];
  top1: MeanSpread;
  top3: MeanSpread;
}

/** The mean and sample standard deviation of `values` (NaN mean when empty). */
export function meanSpread(values: readonly number[]): MeanSpread {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std };
}

/** The results of {@link runAblation}; displays as a table (mean ± spread over seeds). */
export class AblationResult {
  constructor(
    readonly rows: AblationRowResult[],
    readonly seeds: readonly number[],
    /** True when the signal stopped the runs early. */
    readonly stopped: boolean,
  ) {}

  /** The table: row, parameters, top-1 and top-3 (mean ± std over seeds, in %), Δ top-1 to the first row, runs. */
  table(): Rich {
    const base = this.rows[0]?.top1.mean;
    const pct = (m: MeanSpread) => (Number.isNaN(m.mean) ? "—" : `${(100 * m.mean).toFixed(2)} ± ${(100 * m.std).toFixed(2)}`);
    return table(
      this.rows.map((r, i) => ({
        row: r.row.name,
        change: r.row.note ?? "",
        params: r.params ?? "",
        "top-1 %": pct(r.top1),
        "top-3 %": pct(r.top3),
        "Δ top-1": i === 0 || base === undefined || Number.isNaN(r.top1.mean) ? "" : `${(100 * (r.top1.mean - base)).toFixed(2)}`,
        runs: `${r.runs.length}/${this.seeds.length}`,
        time: seconds(r.runs.reduce((a, run) => a + run.seconds, 0)),
      })),
    );
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return this.table()[JUPYTER_DISPLAY]() as MimeBundle;
  }

  [inspect.custom](): string {
    return (this.table()[JUPYTER_DISPLAY]() as MimeBundle)["text/plain"];
  }
}

/**
 * Trains every row for every seed (rows in order, seeds inside), evaluates each run on
 * `validation`, and returns the table. Models are disposed after their run.
 */
export async function runAblation(options: AblationOptions): Promise<AblationResult> {
  const seeds = options.seeds ?? [0, 1, 2];
  if (options.rows.length === 0) throw new RangeError("runAblation: no rows to train");
  if (seeds.length === 0) throw new RangeError("runAblation: no seeds");
  const names = new Set<string>();
  for (const row of options.rows) {
    if (names.has(row.name)) throw new RangeError(`runAblation: two rows are named "${row.name}"`);
    names.add(row.name);
  }
  const signal = options.signal === undefined ? currentAbortSignal() : (options.signal ?? undefined);
  const results: AblationRowResult[] = options.rows.map((row) => ({ row, params: undefined, runs: [], top1: meanSpread([]), top3: meanSpread([]) }));
  const live = options.live ?? getDisplaySink() !== undefined;
  let handle: DisplayHandle | undefined;
  const snapshot = (stopped: boolean) => new AblationResult(results.map((r) => ({ ...r, runs: [...r.runs] })), seeds, stopped);
  if (live) handle = display(snapshot(false).table());
  let stopped = false;
  outer: for (const result of results) {
    for (const seed of seeds) {
      if (signal?.aborted) {
        stopped = true;
        break outer;
      }
      const model = options.build(result.row, seed);
      const trainer = new Trainer(model, options.trainer);
      try {
        result.params ??= model.countParams?.();
        const fit = await trainer.fit({
          train: options.train(seed),
          epochs: options.epochs,
          ...(options.maxSteps !== undefined ? { maxSteps: options.maxSteps } : {}),
          callbacks: options.callbacks?.(result.row, seed) ?? [],
          signal: signal ?? null,
        });
        if (fit.reason === "aborted") {
          stopped = true;
          break outer;
        }
        const evaluation: EvalResult = await trainer.evaluate(options.validation);
        result.runs.push({ seed, top1: evaluation.top1, top3: evaluation.top3, loss: evaluation.loss, steps: fit.step, seconds: fit.seconds + evaluation.seconds });
        result.top1 = meanSpread(result.runs.map((r) => r.top1));
        result.top3 = meanSpread(result.runs.map((r) => r.top3));
      } finally {
        trainer.dispose();
        model.dispose?.();
      }
      handle?.update(snapshot(false).table());
    }
  }
  const final = snapshot(stopped);
  handle?.update(final.table());
  return final;
}
