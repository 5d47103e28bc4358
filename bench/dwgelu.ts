/**
 * `npm run bench -- dwgelu [--json] [--batch N] [--reps N] [--threads N]`: the backward pass of
 * depthwiseConv2dBiasGelu on native, depthwise.cc's depthwiseGeluGrad (dz = dy·gelu'(z) formed
 * inside the one sweep that computes dx, dFilter and dBias, from the gelu'(z) the forward pass
 * saved) against what the composition gelu(depthwiseConv2dBias(…)) runs: the GELU gradient
 * kernel writing dz, then
 * depthwiseConv2dBias's gradients (one sweep or separate kernels, as routed by {@link
 * oneSweepGradients}), on the MLP shapes of CLUE_nano_FMNIST (3×3, stride 1, pad 1, batch 64 by
 * default) plus a stride-2 shape. (The forward pass is the composition's own kernels.) The two
 * are called alternately on the same inputs in one run; each figure is the median of `reps`
 * calls after two warm-ups, and the best; ratio = composition / fused median (> 1: fused
 * faster); "used" says whether the native kernel takes the sweep on that shape ({@link
 * oneSweepGeluGradients}). Also the largest relative difference between the results (0: bit for bit).
 */
import { tf } from "../lib/engine/index.js";
import { CONV, convParams, handWritten, oneSweepGeluGradients, oneSweepGradients } from "../lib/engine/native/kernels/conv.js";
import { alternatingMedians, benchAddon, positiveIntOption as option, seededValues } from "./measure.js";
import type { BenchOptions } from "./types.js";

/** The backward pass on one shape. */
export interface DwGeluRow {
  shape: [number, number, number, number];
  stride: number;
  composed_ms: number;
  fused_ms: number;
  /** Best of the reps, each way. */
  composed_best_ms: number;
  fused_best_ms: number;
  /** composed_ms / fused_ms. */
  ratio: number;
  /** Whether the native kernel takes the fused path on this shape. */
  used: boolean;
  max_rel_diff: number;
}

function maxRelDiff(a: Float32Array[], b: Float32Array[]): number {
  let diff = 0;
  a.forEach((xs, k) => {
    const ys = b[k]!;
    for (let i = 0; i < xs.length; i++) diff = Math.max(diff, Math.abs(xs[i]! - ys[i]!) / (1 + Math.abs(ys[i]!)));
  });
  return diff;
}

export async function run({ json, args }: BenchOptions): Promise<void> {
  const addon = benchAddon(args);
  const batch = option(args, "--batch", 64);
  const reps = option(args, "--reps", 15);
  const shapes: Array<[number, number, number, number, number]> = [
    [batch, 32, 32, 64, 1], [batch, 16, 16, 128, 1], [batch, 8, 8, 256, 1], [batch, 4, 4, 512, 1], [batch, 16, 16, 64, 2],
  ];
  const rows: DwGeluRow[] = [];
  for (const [n, h, w, c, s] of shapes) {
    const info = tf.backend_util.computeConv2DInfo([n, h, w, c], [3, 3, c, 1], s, 1, 1, undefined, true);
    const params = convParams(info, c);
    const ySize = n * info.outHeight * info.outWidth * c;
    const x = seededValues(n * h * w * c, 1), dy = seededValues(ySize, 2), f = seededValues(9 * c, 3, 0.7), b = seededValues(c, 4, 0.5);
    const shape: [number, number, number, number] = [n, h, w, c];
    // z as the composition's forward pass leaves it, and gelu'(z) as the fused one saves it
    const z = new Float32Array(ySize), y = new Float32Array(ySize), slope = new Float32Array(ySize);
    const conv = (mode: number) => (handWritten(mode, info) ? addon.depthwise : addon.conv);
    conv(CONV.forward)(CONV.forward, z, x, f, params, b);
    addon.gelu(y, z, slope);
    // backward: geluGrad on the saved z, then the three gradients as routed; against depthwiseGeluGrad
    const dz = new Float32Array(ySize);
    const grads = () => [new Float32Array(x.length), new Float32Array(f.length), new Float32Array(c)] as const;
    const [dx, dW, dB] = grads(), [dxF, dWF, dBF] = grads();
    const best = [Infinity, Infinity];
    const timed = (k: number, fn: () => void) => () => {
      const t0 = performance.now();
      fn();
      best[k] = Math.min(best[k]!, performance.now() - t0);
    };
    const [composed, fusedMs] = alternatingMedians(reps, [
      timed(0, () => {
        addon.geluGrad(dz, dy, z);
        if (oneSweepGradients(info)) {
          addon.depthwiseGrad(dx, dW, dB, dz, x, f, params);
        } else {
          conv(CONV.backwardData)(CONV.backwardData, dx, dz, f, params);
          conv(CONV.backwardWeights)(CONV.backwardWeights, dW, x, dz, params);
          addon.reduce(0, dB, dz, 1, ySize / c, c); // op 0: sum (reduce.cc)
        }
      }),
      timed(1, () => addon.depthwiseGeluGrad(dxF, dWF, dBF, dy, x, f, slope, params)),
    ]);
    rows.push({ shape, stride: s, composed_ms: composed!, fused_ms: fusedMs!, composed_best_ms: best[0]!, fused_best_ms: best[1]!, ratio: composed! / fusedMs!,
      used: oneSweepGeluGradients(info), max_rel_diff: maxRelDiff([dxF, dWF, dBF], [dx, dW, dB]) });
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ batch, reps, threads: addon.info().threads, rows })}\n`);
    return;
  }
  const lines = [`depthwise 3×3 + bias + GELU backward, composition against the fused sweep, medians (best) of ${reps} calls, ${addon.info().threads} threads (ratio of medians > 1: fused faster)`];
  lines.push(`${"x shape".padEnd(18)}${"stride".padEnd(8)}${"composed ms".padStart(18)}${"fused ms".padStart(18)}${"ratio".padStart(8)}${"used".padStart(6)}${"max diff".padStart(10)}`);
  const ms = (median: number, best: number) => `${median.toFixed(3)} (${best.toFixed(3)})`.padStart(18);
  for (const r of rows) {
    lines.push(`${`[${r.shape.join(",")}]`.padEnd(18)}${String(r.stride).padEnd(8)}${ms(r.composed_ms, r.composed_best_ms)}${ms(r.fused_ms, r.fused_best_ms)}${`${r.ratio.toFixed(2)}×`.padStart(8)}${(r.used ? "yes" : "no").padStart(6)}${r.max_rel_diff.toExponential(1).padStart(10)}`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}
