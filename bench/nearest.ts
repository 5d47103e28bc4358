/**
 * `npm run bench -- nearest [--json] [--reps N] [--threads N]`: the native nearestCenter's lane
 * kernel (native/src/nearest.cc: running maxima in registers) against its GEMM + argmax path
 * (a small GEMM into a points × centers block, then an argmax per row), on CLUE_nano_FMNIST's
 * three cluster-pooling calls (batch 64) and a ragged shape. The two are called alternately on
 * the same inputs in one run; each figure is the median of `reps` calls after two warm-ups, and
 * the ratio is the GEMM path's median over the kernel's (> 1: kernel faster). Also reported: how
 * many winners differ (0 expected: both sum each similarity as one FMA chain in the same order;
 * only the norms' roundings can differ, which moves a winner only at a tie within an ulp or so).
 */
import { benchAddon, alternatingMedians, positiveIntOption as option } from "./measure.js";
import type { BenchOptions } from "./types.js";

/** One shape: points [groups, n, d] against centers [groups, m, d]. */
export interface NearestRow {
  groups: number;
  n: number;
  m: number;
  d: number;
  gemm_ms: number;
  kernel_ms: number;
  /** gemm_ms / kernel_ms. */
  ratio: number;
  kernel_gflops: number;
  differing_winners: number;
}

function seededNormals(size: number, seed: number): Float32Array {
  const a = new Float32Array(size);
  let s = seed >>> 0 || 1;
  const uniform = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 2 ** 32;
  for (let i = 0; i < size; i++) a[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return a;
}

/** Centers as cluster pooling makes them: means of side/out × side/out windows of the points' grid. */
function pooled(x: Float32Array, groups: number, side: number, out: number, d: number): Float32Array {
  const c = new Float32Array(groups * out * out * d), k = side / out;
  for (let g = 0; g < groups; g++)
    for (let i = 0; i < side; i++)
      for (let j = 0; j < side; j++)
        for (let p = 0; p < d; p++) c[((g * out + Math.floor(i / k)) * out + Math.floor(j / k)) * d + p]! += x[((g * side + i) * side + j) * d + p]! / (k * k);
  return c;
}

export async function run({ json, args }: BenchOptions): Promise<void> {
  const addon = benchAddon(args);
  const reps = option(args, "--reps", 15);
  // [groups, grid side, pooled side, d]: CLUE_nano_FMNIST's three pooling calls, then a ragged one (side 30 → 7 is not a
  // whole window, so it uses random centers instead).
  const shapes: Array<[number, number, number, number]> = [[64, 32, 16, 16], [64, 16, 8, 32], [64, 8, 4, 64], [64, 30, 7, 24]];
  const rows: NearestRow[] = [];
  for (const [groups, side, out, d] of shapes) {
    const n = side * side, m = out * out;
    const x = seededNormals(groups * n * d, 1);
    const centers = side % out === 0 ? pooled(x, groups, side, out, d) : seededNormals(groups * m * d, 2);
    const viaGemm = new Int32Array(groups * n), kernel = new Int32Array(groups * n);
    const [gemmMs, kernelMs] = alternatingMedians(reps, [
      () => addon.nearestCenter(viaGemm, x, centers, groups, n, m, d, 1),
      () => addon.nearestCenter(kernel, x, centers, groups, n, m, d),
    ]);
    let differing = 0;
    for (let i = 0; i < kernel.length; i++) differing += kernel[i] !== viaGemm[i] ? 1 : 0;
    rows.push({ groups, n, m, d, gemm_ms: gemmMs, kernel_ms: kernelMs, ratio: gemmMs / kernelMs, kernel_gflops: (2 * groups * n * m * d) / kernelMs / 1e6, differing_winners: differing });
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ reps, threads: addon.info().threads, rows })}\n`);
    return;
  }
  const lines = [`nearestCenter, medians of ${reps} calls, ${addon.info().threads} threads (ratio > 1: lane kernel faster)`];
  lines.push(`${"points → centers".padEnd(26)}${"GEMM ms".padStart(9)}${"kernel ms".padStart(11)}${"ratio".padStart(8)}${"GFLOP/s".padStart(9)}${"differ".padStart(8)}`);
  for (const r of rows) {
    lines.push(`${`[${r.groups},${r.n},${r.d}] → ${r.m}`.padEnd(26)}${r.gemm_ms.toFixed(3).padStart(9)}${r.kernel_ms.toFixed(3).padStart(11)}${`${r.ratio.toFixed(2)}×`.padStart(8)}${r.kernel_gflops.toFixed(0).padStart(9)}${String(r.differing_winners).padStart(8)}`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}
