/**
 * `npm run bench -- reduce-pool [--json] [--reps N] [--threads N] [--cold]`: the native addon's
 * column sums (native/src/reduce.cc) against its general row-tiled sum, and its tiling average
 * pools (native/src/avgpool.cc) against oneDNN's pooling (the addon's pool), on the shapes one
 * CLUE_nano_FMNIST training step (batch 64) sums and pools. The two sides are called alternately
 * in one run; each figure is the median of `reps` calls after two warm-ups, and the ratio is the
 * old side's median over the new one's (> 1: new faster). With --cold every call reads and writes
 * buffers not touched for ≥ 40 MB of traffic (as in a training step, where a recycled output
 * buffer is cold); without it the same buffers are reused (hot in cache).
 */
import { benchAddon, alternatingMedians, positiveIntOption as option, seededValues } from "./measure.js";
import type { BenchOptions } from "./types.js";

/** One kernel on one shape. */
export interface ReducePoolRow {
  kernel: "Sum axis 0" | "AvgPool" | "AvgPoolGrad";
  /** Sum: [R, C]; pools: the input [n, h, w, c] and the window. */
  shape: number[];
  window?: number;
  /** The row-tiled sum, or oneDNN's pooling. */
  old_us: number;
  /** The column-sum kernel, or avgPoolTiles. */
  new_us: number;
  /** old_us / new_us. */
  ratio: number;
  /** Bytes read and written by the new kernel over its median time, GB/s. */
  new_gb_s: number;
}

/** `count` distinct arrays of n floats (one when hot): call i uses ring[i % count]. */
function ring(n: number, cold: boolean, seed: number): Float32Array[] {
  const count = cold ? Math.max(2, Math.ceil(40e6 / Math.max(4 * n, 1))) : 1;
  return Array.from({ length: count }, (_, i) => seededValues(n, seed + i));
}

export async function run({ json, args }: BenchOptions): Promise<void> {
  const addon = benchAddon(args);
  const reps = option(args, "--reps", 40);
  const cold = args.includes("--cold");
  const rows: ReducePoolRow[] = [];

  // dbias = Σ dy over rows: the Sum shapes of one training step, then ragged ones.
  const sums: Array<[number, number]> = [[65536, 16], [16384, 32], [1024, 128], [16384, 128], [65536, 64], [4096, 64], [4097, 48], [5000, 17]];
  for (const [R, C] of sums) {
    let calls = 0;
    const xsOld = ring(R * C, cold, 1), xsNew = ring(R * C, cold, 100);
    const outOld = new Float32Array(C), outNew = new Float32Array(C);
    const [oldMs, newMs] = alternatingMedians(reps, [
      () => addon.reduce(0, outOld, xsOld[calls % xsOld.length]!, 1, R, C, 1), // op 0: sum; 1: the row-tiled kernel
      () => addon.reduce(0, outNew, xsNew[calls++ % xsNew.length]!, 1, R, C),
    ]);
    rows.push({ kernel: "Sum axis 0", shape: [R, C], old_us: oldMs * 1e3, new_us: newMs * 1e3, ratio: oldMs / newMs, new_gb_s: (4 * R * C) / (newMs * 1e6) });
  }

  // CLUENet's cluster pooling: [n, h, w, c] with windows 4, 8, 2.
  const pools: Array<[number, number, number, number, number]> = [
    [64, 16, 16, 32, 4], [64, 32, 32, 16, 8], [64, 8, 8, 64, 2], [64, 32, 32, 16, 2], [64, 16, 16, 32, 2],
  ];
  for (const [n, h, w, c, k] of pools) {
    const ho = Math.floor(h / k), wo = Math.floor(w / k);
    const params = Int32Array.from([n, h, w, c, ho, wo, k, k, k, k, 0, 0, 0, 0]);
    const big = n * h * w * c, small = n * ho * wo * c;
    const bytes = 4 * (big + small);
    for (const kernel of ["AvgPool", "AvgPoolGrad"] as const) {
      const forward = kernel === "AvgPool";
      let calls = 0;
      const ins = [ring(forward ? big : small, cold, 7), ring(forward ? big : small, cold, 300)];
      const outs = [ring(forward ? small : big, cold, 9), ring(forward ? small : big, cold, 600)];
      const pick = (list: Float32Array[]) => list[calls % list.length]!;
      const [oldMs, newMs] = alternatingMedians(reps, [
        () => addon.pool(forward ? 1 : 3, pick(outs[0]!), pick(ins[0]!), null, params), // 1: average forward, 3: average gradient (conv.cc)
        () => {
          addon.avgPoolTiles(forward ? 0 : 1, pick(outs[1]!), pick(ins[1]!), params);
          calls++;
        },
      ]);
      rows.push({ kernel, shape: [n, h, w, c], window: k, old_us: oldMs * 1e3, new_us: newMs * 1e3, ratio: oldMs / newMs, new_gb_s: bytes / (newMs * 1e6) });
    }
  }

  const threads = addon.info().threads;
  if (json) {
    process.stdout.write(`${JSON.stringify({ reps, threads, cold, rows })}\n`);
    return;
  }
  const lines = [
    `column sums and tiling average pools, ${cold ? "cold" : "hot"} buffers, medians of ${reps} calls, ${threads} threads (ratio > 1: new faster)`,
    `${"kernel".padEnd(13)}${"shape".padEnd(20)}${"window".padStart(7)}${"old µs".padStart(10)}${"new µs".padStart(10)}${"ratio".padStart(8)}${"new GB/s".padStart(10)}`,
  ];
  for (const r of rows) {
    lines.push(
      `${r.kernel.padEnd(13)}${`[${r.shape.join(",")}]`.padEnd(20)}${String(r.window ?? "").padStart(7)}${r.old_us.toFixed(1).padStart(10)}${r.new_us.toFixed(1).padStart(10)}${`${r.ratio.toFixed(2)}×`.padStart(8)}${r.new_gb_s.toFixed(1).padStart(10)}`,
    );
  }
  lines.push("old: Sum on the row-tiled kernel (reduce's 7th argument 1), pools on oneDNN (addon.pool); new: the column kernels, avgPoolTiles");
  process.stdout.write(`${lines.join("\n")}\n`);
}
