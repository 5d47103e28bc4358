/**
 * `npm run bench -- cluenet [--json] [--models A,B] [--steps N] [--train-batch 64] [--infer-batch 256]`:
 * CLUENet training and inference throughput on the selected backend (CLUELAB_BACKEND, default
 * automatic) beside the PyTorch transcription of the official model (bench/torch/cluenet_ref.py,
 * python3-torch on the CPU with torch.set_num_threads(2) and OPENBLAS_NUM_THREADS=1), same
 * configs, batch sizes and step definition:
 *  - training: forward (drop path on) + cross-entropy + backward + Adam update, images/s;
 *  - inference: forward in eval mode, images/s.
 * Each figure is the median over `steps` timed runs after one warm-up run; ratios are ours / PyTorch.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as cluenet from "../lib/cluenet/index.js";
import { engineInfo, ready, tf } from "../lib/engine/index.js";
import type { BenchOptions } from "./types.js";

export interface CluenetBenchRow {
  model: string;
  params: number;
  trainBatch: number;
  inferBatch: number;
  ours: { trainImgS: number | null; inferImgS: number | null; notes: string[] };
  torch: { trainImgS: number | null; inferImgS: number | null; threads: number | null; version: string | null; notes: string[] };
  ratio: { train: number | null; infer: number | null };
}

export interface CluenetBenchReport {
  backend: string;
  steps: number;
  rows: CluenetBenchRow[];
}

const NUM_CLASSES: Record<string, number> = { CLUE_nano_FMNIST: 10, CLUE_mini_CIFAR: 100 };

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Times `fn` (which must synchronise) once to warm up and `steps` times; returns the median in seconds. */
async function timeIt(steps: number, fn: () => Promise<void>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

async function ours(name: string, trainBatch: number, inferBatch: number, steps: number): Promise<CluenetBenchRow["ours"] & { params: number }> {
  const numClasses = NUM_CLASSES[name] ?? 100;
  const model = cluenet.create(name, { numClasses, seed: 0 });
  const notes: string[] = [];
  const [h, w] = model.config.inputSize;
  const c = model.config.inChannels;
  let trainImgS: number | null = null;
  let inferImgS: number | null = null;
  try {
    const x = tf.randomNormal([trainBatch, h, w, c], 0, 1, "float32", 1) as tf.Tensor4D;
    const labels = tf.oneHot(tf.randomUniform([trainBatch], 0, numClasses, "int32", 2) as tf.Tensor1D, numClasses);
    const optimizer = tf.train.adam(1e-3);
    try {
      const seconds = await timeIt(steps, async () => {
        const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true })) as tf.Scalar, true);
        await loss!.data();
        loss!.dispose();
      });
      trainImgS = trainBatch / seconds;
    } catch (error) {
      notes.push(`training failed: ${(error as Error).message}`);
    } finally {
      optimizer.dispose();
      tf.dispose([x, labels]);
    }
    const xi = tf.randomNormal([inferBatch, h, w, c], 0, 1, "float32", 3) as tf.Tensor4D;
    try {
      const seconds = await timeIt(steps, async () => {
        const y = model.predict(xi);
        await y.data();
        y.dispose();
      });
      inferImgS = inferBatch / seconds;
    } catch (error) {
      notes.push(`inference failed: ${(error as Error).message}`);
    } finally {
      xi.dispose();
    }
    return { trainImgS, inferImgS, notes, params: model.countParams() };
  } finally {
    try {
      model.dispose();
    } catch (error) {
      notes.push(`the backend failed for good (${(error as Error).message}): later rows on it are void`);
    }
  }
}

function torchPeer(name: string, trainBatch: number, inferBatch: number, steps: number): CluenetBenchRow["torch"] {
  const script = fileURLToPath(new URL("../../bench/torch/cluenet_ref.py", import.meta.url));
  const python = process.env.CLUELAB_PYTHON ?? "/usr/bin/python3";
  const r = spawnSync(
    python,
    [script, "bench", "--name", name, "--num-classes", String(NUM_CLASSES[name] ?? 100), "--train-batch", String(trainBatch),
      "--infer-batch", String(inferBatch), "--steps", String(steps), "--threads", "2"],
    { env: { ...process.env, OPENBLAS_NUM_THREADS: "1" }, encoding: "utf8", timeout: 600_000 },
  );
  if (r.status !== 0) {
    const why = r.error?.message ?? r.stderr.trim().split("\n").slice(-1)[0] ?? `exit ${r.status}`;
    return { trainImgS: null, inferImgS: null, threads: null, version: null, notes: [`PyTorch peer did not run: ${why}`] };
  }
  const out = JSON.parse(r.stdout) as { trainImagesPerSecond: number; inferImagesPerSecond: number; threads: number; torch: string };
  return { trainImgS: out.trainImagesPerSecond, inferImgS: out.inferImagesPerSecond, threads: out.threads, version: out.torch, notes: [] };
}

export async function run({ json, args }: BenchOptions): Promise<void> {
  await ready();
  const backend = (await engineInfo())?.backend ?? tf.getBackend();
  const models = option(args, "models", "CLUE_nano_FMNIST,CLUE_mini_CIFAR").split(",");
  const steps = Number(option(args, "steps", "5"));
  const trainBatch = Number(option(args, "train-batch", "64"));
  const inferBatch = Number(option(args, "infer-batch", "256"));
  const rows: CluenetBenchRow[] = [];
  for (const name of models) {
    process.stderr.write(`cluenet bench: ${name} on ${backend}…\n`);
    const { params, ...o } = await ours(name, trainBatch, inferBatch, steps);
    process.stderr.write(`cluenet bench: ${name} on PyTorch…\n`);
    const t = torchPeer(name, trainBatch, inferBatch, steps);
    const ratio = (a: number | null, b: number | null): number | null => (a !== null && b !== null ? a / b : null);
    rows.push({ model: name, params, trainBatch, inferBatch, ours: o, torch: t, ratio: { train: ratio(o.trainImgS, t.trainImgS), infer: ratio(o.inferImgS, t.inferImgS) } });
  }
  const report: CluenetBenchReport = { backend, steps, rows };
  if (json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const f = (v: number | null, d = 1): string => (v === null ? "—" : v.toFixed(d));
  const lines = [
    `CLUENet throughput, images/s (median of ${steps} runs after a warm-up); ours on ${backend}, PyTorch ${rows[0]?.torch.version ?? "?"} CPU with ${rows[0]?.torch.threads ?? "?"} threads`,
    `${"model".padEnd(18)} ${"params".padStart(10)}  ${"train ours".padStart(10)} ${"torch".padStart(8)} ${"ratio".padStart(6)}  ${"infer ours".padStart(10)} ${"torch".padStart(8)} ${"ratio".padStart(6)}`,
    ...rows.map(
      (r) =>
        `${r.model.padEnd(18)} ${r.params.toLocaleString("en-US").padStart(10)}  ${f(r.ours.trainImgS).padStart(10)} ${f(r.torch.trainImgS).padStart(8)} ${f(r.ratio.train, 2).padStart(6)}  ${f(r.ours.inferImgS).padStart(10)} ${f(r.torch.inferImgS).padStart(8)} ${f(r.ratio.infer, 2).padStart(6)}`,
    ),
    `batches: training ${trainBatch}, inference ${inferBatch}`,
    ...rows.flatMap((r) => [...r.ours.notes, ...r.torch.notes].map((n) => `note (${r.model}): ${n}`)),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}
