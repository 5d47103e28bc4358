/**
 * `npm run bench -- softaggregate [--json] [--reps N] [--threads N]`: the native softAggregate's
 * register-blocked kernels (native/src/attention.cc: M = 16 centers, d and dv 16 or 32, AVX-512)
 * against its general kernel (GEMM calls per block of pixels), forward and backward, on
 * CLUE_nano_FMNIST's four global soft aggregations (batch 64) and two of CLUE_mini_CIFAR's (d = 32,
 * batch 16). The two are called alternately on the same inputs in one run; each figure is the
 * median of `reps` calls after two warm-ups, and a ratio is the general kernel's median over the
 * blocked one's (> 1: blocked faster). `max_rel_diff` is the largest difference between the two
 * kernels' outputs and gradients, relative to each one's largest magnitude (rounding: ~1e-6).
 */
import { benchAddon, alternatingMedians, positiveIntOption as option } from "./measure.js";
import type { BenchOptions } from "./types.js";

type F32 = Float32Array;

/** The addon's two entry points with their optional last argument, `general` = 1 (the general kernel). */
interface SoftAggregateAddon {
  softAggregate(out: F32, stats: F32, q: F32, k: F32, v: F32, g: number, m: number, n: number, d: number, dv: number, heads: number, general?: number): void;
  softAggregateGrad(dq: F32, dk: F32, dv: F32, dy: F32, q: F32, k: F32, v: F32, out: F32, stats: F32, g: number, m: number, n: number, d: number,
    dv2: number, heads: number, general?: number): void;
}

export interface SoftAggregateRow {
  config: string;
  /** q [batch·heads, m, d], k and v [batch, n, heads·d]. */
  batch: number;
  heads: number;
  m: number;
  n: number;
  d: number;
  general_fwd_ms: number;
  blocked_fwd_ms: number;
  fwd_ratio: number;
  general_grad_ms: number;
  blocked_grad_ms: number;
  grad_ratio: number;
  max_rel_diff: number;
}

function seeded(size: number, seed: number, scale: number): F32 {
  const a = new Float32Array(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) a[i] = (((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1) * scale;
  return a;
}

function relDiff(a: F32, b: F32): number {
  let worst = 0, largest = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    largest = Math.max(largest, Math.abs(b[i]!));
  }
  return worst / Math.max(largest, 1e-30);
}

export async function run({ json, args }: BenchOptions): Promise<void> {
  const native = benchAddon(args);
  const addon = native as unknown as SoftAggregateAddon & typeof native;
  const reps = option(args, "--reps", 20);
  // [config, batch, heads, pixels, head dim]; 16 centers (4×4 clusters) throughout.
  const shapes: Array<[string, number, number, number, number]> = [
    ["CLUE_nano_FMNIST", 64, 1, 1024, 16],
    ["CLUE_nano_FMNIST", 64, 2, 256, 16],
    ["CLUE_nano_FMNIST", 64, 4, 64, 16],
    ["CLUE_nano_FMNIST", 64, 8, 16, 16],
    ["CLUE_mini_CIFAR", 16, 1, 1024, 32],
    ["CLUE_mini_CIFAR", 16, 2, 256, 32],
  ];
  const m = 16;
  const rows: SoftAggregateRow[] = [];
  for (const [config, batch, heads, n, d] of shapes) {
    const g = batch * heads;
    // Scaled like CLUENet's: unit-norm keys, queries at the temperature's scale.
    const q = seeded(g * m * d, 1, 3 / Math.sqrt(d)), k = seeded(batch * n * heads * d, 2, Math.sqrt(3 / d));
    const v = seeded(batch * n * heads * d, 3, 1), dy = seeded(g * m * d, 4, 1);
    const runs = [0, 1].map((general) => {
      const r = { out: new Float32Array(g * m * d), stats: new Float32Array(g * 2 * m), dq: new Float32Array(q.length), dk: new Float32Array(k.length), dv: new Float32Array(v.length) };
      return {
        r,
        fwd: () => addon.softAggregate(r.out, r.stats, q, k, v, g, m, n, d, d, heads, general),
        grad: () => addon.softAggregateGrad(r.dq, r.dk, r.dv, dy, q, k, v, r.out, r.stats, g, m, n, d, d, heads, general),
      };
    });
    const [generalFwd, blockedFwd] = alternatingMedians(reps, [runs[1]!.fwd, runs[0]!.fwd]);
    const [generalGrad, blockedGrad] = alternatingMedians(reps, [runs[1]!.grad, runs[0]!.grad]);
    const [blocked, general] = [runs[0]!.r, runs[1]!.r];
    const diff = Math.max(relDiff(blocked.out, general.out), relDiff(blocked.dq, general.dq), relDiff(blocked.dk, general.dk), relDiff(blocked.dv, general.dv));
    rows.push({
      config, batch, heads, m, n, d,
      general_fwd_ms: generalFwd!, blocked_fwd_ms: blockedFwd!, fwd_ratio: generalFwd! / blockedFwd!,
      general_grad_ms: generalGrad!, blocked_grad_ms: blockedGrad!, grad_ratio: generalGrad! / blockedGrad!,
      max_rel_diff: diff,
    });
  }
  const threads = addon.info().threads;
  if (json) {
    process.stdout.write(`${JSON.stringify({ reps, threads, rows })}\n`);
    return;
  }
  const lines = [`softAggregate, medians of ${reps} calls, ${threads} threads (ratio > 1: register-blocked kernel faster)`];
  lines.push(`${"shape".padEnd(36)}${"fwd general/blocked ms".padStart(24)}${"ratio".padStart(7)}${"grad general/blocked ms".padStart(25)}${"ratio".padStart(7)}${"diff".padStart(9)}`);
  for (const r of rows) {
    const shape = `${r.config} B${r.batch} h${r.heads} N${r.n} d${r.d}`;
    lines.push(`${shape.padEnd(36)}${`${r.general_fwd_ms.toFixed(3)} / ${r.blocked_fwd_ms.toFixed(3)}`.padStart(24)}${`${r.fwd_ratio.toFixed(2)}×`.padStart(7)}` +
      `${`${r.general_grad_ms.toFixed(3)} / ${r.blocked_grad_ms.toFixed(3)}`.padStart(25)}${`${r.grad_ratio.toFixed(2)}×`.padStart(7)}${r.max_rel_diff.toExponential(1).padStart(9)}`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}
