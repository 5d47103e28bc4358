/**
 * `npm run bench -- gemm [--json] [--reps N] [--threads N] [--only TEXT] [--other PATH [--policy P]]`: the native addon's
 * matrix products (addon.matmul, native/src/gemm.cc) on the linear layers' shapes of one
 * CLUE_nano_FMNIST training step (batch 64: 65,536 pixels at 32×32, 16,384 at 16×16), forward
 * (with the bias), data gradient (B transposed) and weight gradient (A transposed, the pixels as
 * the inner dimension).
 *
 * Without `--other`, each shape runs three ways alternately in one run: as routed (the measured
 * choice), always on oneDNN's sgemm, always on the hand-written kernels (addon.gemmPolicy); the
 * routing is right where "routed" is the faster of the other two. With `--other PATH`, the routed
 * product of this build runs alternately with another build of the addon (an A/B of two
 * versions; an older build lacks gemmPolicy). Each figure is the median of `reps` calls after two
 * warm-ups, beside the fastest call (the closest to an unloaded machine); GF/s counts 2·m·n·k
 * per product and uses the median. Also reported: the largest difference between the
 * outputs relative to 1 + |value| (oneDNN's against the hand-written, or the two builds').
 */
import { createRequire } from "node:module";
import { loadAddon, type NativeAddon } from "../lib/engine/native/addon.js";
import { alternatingTimes, median, positiveIntOption as option, seededValues } from "./measure.js";
import type { BenchOptions } from "./types.js";

/** One product: C[m×n] = op(A)·op(B) (+ bias), A [m×k] or [k×m] with `ta`, B [k×n] or [n×k] with `tb`. */
export interface GemmShape {
  what: string;
  m: number;
  n: number;
  k: number;
  ta: boolean;
  tb: boolean;
  bias: boolean;
  /** Calls per nano training step (batch 64). */
  calls: number;
}

/** CLUE_nano_FMNIST's linear-layer products per training step at batch 64, heaviest first. */
export const NANO_SHAPES: GemmShape[] = [
  { what: "dW 64→16", m: 64, n: 16, k: 65536, ta: true, tb: false, bias: false, calls: 1 },
  { what: "fwd 16→64", m: 65536, n: 64, k: 16, ta: false, tb: false, bias: true, calls: 1 },
  { what: "fwd 16→16", m: 65536, n: 16, k: 16, ta: false, tb: false, bias: true, calls: 4 },
  { what: "fwd 64→16", m: 65536, n: 16, k: 64, ta: false, tb: false, bias: true, calls: 1 },
  { what: "dX 64→16", m: 65536, n: 64, k: 16, ta: false, tb: true, bias: false, calls: 1 },
  { what: "dX 16→64", m: 65536, n: 16, k: 64, ta: false, tb: true, bias: false, calls: 1 },
  { what: "dW 16→64", m: 16, n: 64, k: 65536, ta: true, tb: false, bias: false, calls: 1 },
  { what: "dW 16→16", m: 16, n: 16, k: 65536, ta: true, tb: false, bias: false, calls: 4 },
  { what: "dX 16→16", m: 65536, n: 16, k: 16, ta: false, tb: true, bias: false, calls: 4 },
  { what: "fwd 32→32", m: 16384, n: 32, k: 32, ta: false, tb: false, bias: true, calls: 7 },
  { what: "fwd 128→32", m: 16384, n: 32, k: 128, ta: false, tb: false, bias: true, calls: 2 },
  { what: "fwd 32→128", m: 16384, n: 128, k: 32, ta: false, tb: false, bias: true, calls: 2 },
  { what: "dX 32→32", m: 16384, n: 32, k: 32, ta: false, tb: true, bias: false, calls: 7 },
  { what: "dX 128→32", m: 16384, n: 128, k: 32, ta: false, tb: true, bias: false, calls: 2 },
  { what: "dX 32→128", m: 16384, n: 32, k: 128, ta: false, tb: true, bias: false, calls: 2 },
  { what: "dW 32→32", m: 32, n: 32, k: 16384, ta: true, tb: false, bias: false, calls: 7 },
  { what: "dW 128→32", m: 128, n: 32, k: 16384, ta: true, tb: false, bias: false, calls: 2 },
  { what: "dW 32→128", m: 32, n: 128, k: 16384, ta: true, tb: false, bias: false, calls: 2 },
];

/** One shape's timings: ms per call, by variant. */
export interface GemmRow extends GemmShape {
  /** Variant name → median ms per call ("routed", "onednn", "hand"; or "this", "other"). */
  ms: Record<string, number>;
  /** Variant name → the fastest call's ms: on a shared machine, the closest to an unloaded one. */
  min_ms: Record<string, number>;
  /** The largest |x − y| / (1 + |y|) between the variants' outputs. */
  max_rel_diff: number;
}

function maxRelDiff(x: Float32Array, y: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / (1 + Math.abs(y[i]!)));
  return worst;
}

export async function run({ json, args }: BenchOptions): Promise<void> {
  const load = loadAddon();
  if (!("addon" in load)) throw new Error(`the native addon is needed: ${load.reason}`);
  const addon = load.addon;
  const reps = option(args, "--reps", 15);
  const at = args.indexOf("--other");
  const otherPath = at >= 0 ? args[at + 1] : undefined;
  if (at >= 0 && !otherPath) throw new Error("--other needs the path of another build of the addon (a .node file)");
  const other = otherPath ? (createRequire(import.meta.url)(otherPath) as NativeAddon) : undefined;
  if (args.includes("--threads")) {
    addon.setThreads(option(args, "--threads", 2));
    other?.setThreads(option(args, "--threads", 2));
  }
  // With --other: a routing both builds use (0 measured, 1 oneDNN, 2 hand-written; both need gemmPolicy).
  const policyAt = args.indexOf("--policy");
  const policyOption = policyAt >= 0 ? Number(args[policyAt + 1]) : undefined;
  if (policyOption !== undefined && ![0, 1, 2].includes(policyOption)) throw new Error(`--policy needs 0, 1 or 2, got ${args[policyAt + 1] ?? "nothing"}`);
  const only = args.indexOf("--only");
  const shapes = only >= 0 ? NANO_SHAPES.filter((s) => s.what.includes(args[only + 1] ?? "")) : NANO_SHAPES;
  const rows: GemmRow[] = [];
  for (const s of shapes) {
    const a = seededValues(s.m * s.k, 1), b = seededValues(s.k * s.n, 2), bias = s.bias ? seededValues(s.n, 3) : null;
    const call = (lib: NativeAddon, out: Float32Array) => lib.matmul(out, a, b, bias, 1, 1, s.m, s.n, s.k, s.ta ? 1 : 0, s.tb ? 1 : 0, 0, 0);
    const outs = [0, 1, 2].map(() => new Float32Array(s.m * s.n));
    let names: string[];
    let timed: Array<{ median: number; min: number }>;
    const summary = (times: number[][]) => times.map((t) => ({ median: median(t), min: Math.min(...t) }));
    let diff: number;
    if (other) {
      if (policyOption !== undefined) for (const lib of [addon, other]) lib.gemmPolicy(policyOption);
      names = ["this", "other"];
      timed = summary(alternatingTimes(reps, [() => call(addon, outs[0]!), () => call(other, outs[1]!)]));
      diff = maxRelDiff(outs[0]!, outs[1]!);
    } else {
      const policy = (p: number, out: Float32Array) => () => {
        addon.gemmPolicy(p);
        call(addon, out);
      };
      names = ["routed", "onednn", "hand"];
      timed = summary(alternatingTimes(reps, [policy(0, outs[0]!), policy(1, outs[1]!), policy(2, outs[2]!)]));
      addon.gemmPolicy(0);
      diff = maxRelDiff(outs[2]!, outs[1]!);
    }
    const ms = Object.fromEntries(names.map((v, i) => [v, timed[i]!.median]));
    const minMs = Object.fromEntries(names.map((v, i) => [v, timed[i]!.min]));
    rows.push({ ...s, ms, min_ms: minMs, max_rel_diff: diff });
  }
  const variants = Object.keys(rows[0]?.ms ?? {});
  const perStep = Object.fromEntries(variants.map((v) => [v, rows.reduce((sum, r) => sum + r.calls * r.ms[v]!, 0)]));
  const perStepMin = Object.fromEntries(variants.map((v) => [v, rows.reduce((sum, r) => sum + r.calls * r.min_ms[v]!, 0)]));
  if (json) {
    process.stdout.write(`${JSON.stringify({ reps, threads: addon.info().threads, other: otherPath ?? null, rows, per_step_ms: perStep, per_step_min_ms: perStepMin })}\n`);
    return;
  }
  const gflops = (r: GemmRow, v: string) => (2 * r.m * r.n * r.k) / (r.ms[v]! * 1e6);
  const lines = [
    `matmul on CLUE_nano's linear layers (batch 64), medians of ${reps} calls, ${addon.info().threads} threads` +
      (other ? `; this build against ${otherPath}` : "; routed vs always oneDNN vs always hand-written"),
  ];
  lines.push(`${"product".padEnd(12)}${"m×n×k".padEnd(17)}${"op".padEnd(7)}${"calls".padStart(6)}` + variants.map((v) => `${`${v} ms`.padStart(11)}${"min".padStart(8)}${"GF/s".padStart(6)}`).join("") + `${"max diff".padStart(10)}`);
  for (const r of rows) {
    const op = `${r.ta ? "T" : "N"}${r.tb ? "T" : "N"}${r.bias ? "+b" : ""}`;
    lines.push(
      `${r.what.padEnd(12)}${`${r.m}×${r.n}×${r.k}`.padEnd(17)}${op.padEnd(7)}${String(r.calls).padStart(6)}` +
        variants.map((v) => `${r.ms[v]!.toFixed(3).padStart(11)}${r.min_ms[v]!.toFixed(3).padStart(8)}${gflops(r, v).toFixed(0).padStart(6)}`).join("") +
        `${r.max_rel_diff.toExponential(1).padStart(10)}`,
    );
  }
  lines.push(`per step (calls × median): ${variants.map((v) => `${v} ${perStep[v]!.toFixed(2)} ms`).join(", ")}`);
  lines.push(`per step (calls × fastest): ${variants.map((v) => `${v} ${perStepMin[v]!.toFixed(2)} ms`).join(", ")}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}
