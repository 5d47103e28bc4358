/**
 * `npm run bench -- depthwise [--json] [--batch N] [--reps N] [--threads N]`: the native addon's
 * hand-written depthwise kernels (native/src/depthwise.cc) against oneDNN's grouped convolution
 * (the addon's conv), every mode on CLUE_nano_FMNIST's depthwise shapes (3×3, stride 1, "same";
 * batch 64 by default) plus a stride-2 and an odd-channel shape. The two are called alternately
 * on the same inputs in one run; each figure is the median of `reps` calls after two warm-ups,
 * and the ratio is oneDNN's median over the hand-written one's (> 1: hand-written faster).
 * Also reported: the largest relative difference between their outputs. Then depthwiseConv2dBias's
 * three gradients: the separate kernels as routed today ({@link handWritten} picks each; the bias
 * gradient a Sum) against the one sweep of addon.depthwiseGrad, alternately in the same way (the
 * native kernel picks between them by `oneSweepGradients`, shown as "used").
 */
import { tf } from "../lib/engine/index.js";
import { CONV, convParams, handWritten, oneSweepGradients } from "../lib/engine/native/kernels/conv.js";
import { benchAddon, alternatingMedians, positiveIntOption as option, seededValues } from "./measure.js";
import type { BenchOptions } from "./types.js";

const MODES = ["forward", "data gradient", "filter gradient"] as const;

/** One kernel on one shape. */
export interface DepthwiseRow {
  shape: [number, number, number, number];
  stride: number;
  mode: (typeof MODES)[number];
  onednn_ms: number;
  handwritten_ms: number;
  /** onednn_ms / handwritten_ms. */
  ratio: number;
  max_rel_diff: number;
}

/** depthwiseConv2dBias's gradients (dx, dFilter, dBias) on one shape. */
export interface GradientsRow {
  shape: [number, number, number, number];
  stride: number;
  /** The data and filter gradient kernels as routed, then the Sum for dBias. */
  separate_ms: number;
  /** addon.depthwiseGrad: all three in one sweep over dy. */
  combined_ms: number;
  /** separate_ms / combined_ms. */
  ratio: number;
  /** Whether the native kernel uses the one sweep on this shape (oneSweepGradients). */
  used: boolean;
}

export async function run({ json, args }: BenchOptions): Promise<void> {
  const addon = benchAddon(args);
  const batch = option(args, "--batch", 64);
  const reps = option(args, "--reps", 15);
  const shapes: Array<[number, number, number, number, number]> = [
    [batch, 32, 32, 16, 1], [batch, 32, 32, 64, 1], [batch, 16, 16, 128, 1], [batch, 8, 8, 256, 1], [batch, 4, 4, 512, 1],
    [batch, 16, 16, 64, 2], [batch, 15, 13, 24, 1],
  ];
  const rows: DepthwiseRow[] = [];
  const gradients: GradientsRow[] = [];
  for (const [n, h, w, c, s] of shapes) {
    // The parameters the depthwise kernel gets from tf.depthwiseConv2d(x, f, s, "same")
    const info = tf.backend_util.computeConv2DInfo([n, h, w, c], [3, 3, c, 1], s, 1, "same", undefined, true);
    const params = convParams(info, c);
    const [ho, wo] = [info.outHeight, info.outWidth];
    const x = seededValues(n * h * w * c, 1), dy = seededValues(n * ho * wo * c, 2), f = seededValues(9 * c, 3);
    for (let mode = 0; mode < 3; mode++) {
      const size = mode === 0 ? dy.length : mode === 1 ? x.length : f.length;
      const [in1, in2] = mode === 0 ? [x, f] : mode === 1 ? [dy, f] : [x, dy];
      const reference = new Float32Array(size), mine = new Float32Array(size);
      const [onednn, handwritten] = alternatingMedians(reps, [
        () => addon.conv(mode, reference, in1, in2, params),
        () => addon.depthwise(mode, mine, in1, in2, params),
      ]);
      let diff = 0;
      for (let i = 0; i < size; i++) diff = Math.max(diff, Math.abs(mine[i]! - reference[i]!) / (1 + Math.abs(reference[i]!)));
      rows.push({ shape: [n, h, w, c], stride: s, mode: MODES[mode]!, onednn_ms: onednn, handwritten_ms: handwritten, ratio: onednn / handwritten, max_rel_diff: diff });
    }
    const dx = new Float32Array(x.length), dW = new Float32Array(f.length), dB = new Float32Array(c);
    const routed = (mode: number) => (handWritten(mode, info) ? addon.depthwise : addon.conv);
    const [separate, combined] = alternatingMedians(reps, [
      () => {
        routed(CONV.backwardData)(CONV.backwardData, dx, dy, f, params);
        routed(CONV.backwardWeights)(CONV.backwardWeights, dW, x, dy, params);
        addon.reduce(0, dB, dy, 1, n * ho * wo, c); // op 0: sum (reduce.cc)
      },
      () => addon.depthwiseGrad(dx, dW, dB, dy, x, f, params),
    ]);
    gradients.push({ shape: [n, h, w, c], stride: s, separate_ms: separate, combined_ms: combined, ratio: separate / combined, used: oneSweepGradients(info) });
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ batch, reps, threads: addon.info().threads, rows, gradients })}\n`);
    return;
  }
  const lines = [`depthwise 3×3 kernels, medians of ${reps} calls, ${addon.info().threads} threads (ratio > 1: hand-written faster)`];
  lines.push(`${"x shape".padEnd(18)}${"stride".padEnd(8)}${"mode".padEnd(17)}${"oneDNN ms".padStart(10)}${"hand ms".padStart(10)}${"ratio".padStart(8)}${"max diff".padStart(10)}`);
  for (const r of rows) {
    lines.push(`${`[${r.shape.join(",")}]`.padEnd(18)}${String(r.stride).padEnd(8)}${r.mode.padEnd(17)}${r.onednn_ms.toFixed(3).padStart(10)}${r.handwritten_ms.toFixed(3).padStart(10)}${`${r.ratio.toFixed(2)}×`.padStart(8)}${r.max_rel_diff.toExponential(1).padStart(10)}`);
  }
  lines.push("", `depthwiseConv2dBias's three gradients: separate kernels as routed + Sum, against one sweep (ratio > 1: one sweep faster)`);
  lines.push(`${"x shape".padEnd(18)}${"stride".padEnd(8)}${"separate ms".padStart(12)}${"combined ms".padStart(12)}${"ratio".padStart(8)}${"used".padStart(6)}`);
  for (const g of gradients) {
    lines.push(`${`[${g.shape.join(",")}]`.padEnd(18)}${String(g.stride).padEnd(8)}${g.separate_ms.toFixed(3).padStart(12)}${g.combined_ms.toFixed(3).padStart(12)}${`${g.ratio.toFixed(2)}×`.padStart(8)}${(g.used ? "yes" : "no").padStart(6)}`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}
