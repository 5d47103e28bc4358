/** The contract between `bench/main.ts` and each benchmark module. */

export interface BenchOptions {
  /** Print exactly one JSON object on stdout instead of a table. */
  json: boolean;
  /** Arguments after the benchmark's name, with `--json` taken out. */
  args: string[];
}

/** What every benchmark module exports as `run`. */
export type BenchRun = (options: BenchOptions) => Promise<void>;
