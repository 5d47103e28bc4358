/**
 * `npm run bench -- train [--json] [--configs A,B] [--rounds 3] [--steps 5] [--warmup 10] [--profile]`:
 * CLUENet training and inference images/s on the selected backend (CLUELAB_BACKEND, default
 * automatic) side by side with PyTorch on the same CPU (bench/train_torch.py: Debian's
 * python3-torch, torch.set_num_threads(2), OPENBLAS_NUM_THREADS=1), same configs, batches and step:
 *  - train, batch 64: forward in training mode (drop path on), cross-entropy, backward, AdamW;
 *  - infer, batch 256: forward in inference mode.
 * Each round times `steps` steps of ours, then of PyTorch's, each after `warmup` untimed steps (a
 * training epoch runs at its steady pace: V8 optimises the engine's JavaScript over the first ~10
 * steps, so one warm-up step under-measures ours by 10–20 %, while PyTorch is steady after one); a row's
 * images/s is batch / the median over rounds of each round's median step time, and the ratio
 * compares those medians. The machine's load (load average, CPU pressure) before and after is
 * part of the report: on a shared machine both sides slow down, not necessarily equally.
 *
 * `--profile` adds, per config, where one training step's time goes per kernel (tf.profile).
 * `--threads N` runs both sides on N threads (ours through CLUELAB_NATIVE_THREADS). The report
 * also gives each side's CPU time per step (all threads), a measure of work that a busy machine
 * disturbs less than wall time.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import * as cluenet from "../lib/cluenet/index.js";
import { engineInfo, ready, tf } from "../lib/engine/index.js";
import { AdamW } from "../lib/train/adamw.js";
import type { BenchOptions } from "./types.js";

/** One row of the --json report (the issue's interface). */
export interface TrainRow {
  config: string;
  mode: "train" | "infer";
  batch: number;
  img_s: number | null;
  torch_img_s: number | null;
  ratio: number | null;
}

interface Load {
  loadavg: string;
  /** /proc/pressure/cpu "some avg10": % of time some task waited for a CPU. */
  cpu_pressure_avg10: number | null;
}

/** CPU time per step (median, seconds, every thread of the process), beside the rows. */
export interface CpuRow {
  config: string;
  mode: "train" | "infer";
  cpu_s: number | null;
  torch_cpu_s: number | null;
}

export interface TrainReport {
  backend: string;
  threads: number | null;
  device: string;
  machine: { cpu: string; cores: number };
  torch: string | null;
  rounds: number;
  steps: number;
  warmup: number;
  rows: TrainRow[];
  cpu: CpuRow[];
  load: { before: Load; after: Load };
  profiles?: KernelProfile[];
  notes: string[];
}

export interface KernelProfile {
  config: string;
  step_ms: number;
  kernel_ms: number;
  kernels: number;
  top: Array<{ kernel: string; ms: number; calls: number }>;
}

const CONFIGS: Record<string, { classes: number }> = { CLUE_mini_CIFAR: { classes: 100 }, CLUE_nano_FMNIST: { classes: 10 } };
const TRAIN_BATCH = 64;
const INFER_BATCH = 256;
const LR = 1e-3;
const WEIGHT_DECAY = 0.05;

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

function positive(args: string[], name: string, fallback: number): number {
  const raw = option(args, name, String(fallback));
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number ≥ 1, got "${raw}"`);
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function load(): Load {
  let pressure: number | null = null;
  try {
    pressure = Number(/some avg10=([\d.]+)/.exec(readFileSync("/proc/pressure/cpu", "utf8"))?.[1] ?? NaN);
    if (!Number.isFinite(pressure)) pressure = null;
  } catch {
    // not Linux, or no PSI
  }
  let loadavg = "unknown";
  try {
    loadavg = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    // not Linux
  }
  return { loadavg, cpu_pressure_avg10: pressure };
}

function progress(message: string): void {
  process.stderr.write(`train bench: ${message}\n`);
}

/** Our side of one config: a model, a training step with AdamW state, an inference step. */
class Ours {
  readonly model: cluenet.CluenetModel;
  private readonly x: tf.Tensor4D;
  private readonly labels: tf.Tensor2D;
  private readonly xInfer: tf.Tensor4D;
  /** The library's optimizer, as the Trainer runs it. */
  private readonly optimizer = new AdamW({ lr: LR, weightDecay: WEIGHT_DECAY });

  constructor(readonly config: string) {
    const classes = CONFIGS[config]?.classes ?? 100;
    this.model = cluenet.create(config, { numClasses: classes, seed: 0 });
    const [h, w] = this.model.config.inputSize;
    const c = this.model.config.inChannels;
    this.x = tf.randomNormal([TRAIN_BATCH, h, w, c], 0, 1, "float32", 1) as tf.Tensor4D;
    this.labels = tf.tidy(() => tf.oneHot(tf.randomUniform([TRAIN_BATCH], 0, classes, "int32", 2) as tf.Tensor1D, classes) as tf.Tensor2D);
    this.xInfer = tf.randomNormal([INFER_BATCH, h, w, c], 0, 1, "float32", 3) as tf.Tensor4D;
  }

  /** Forward (training mode), cross-entropy, backward, AdamW; resolves once the loss is read back. */
  async trainStep(): Promise<void> {
    const vars = this.model.trainableWeights;
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(this.labels, this.model.apply(this.x, { training: true })) as tf.Scalar,
      vars,
    );
    this.optimizer.applyGradients(vars, vars.map((p) => grads[p.name]));
    tf.dispose(Object.values(grads));
    await value.data();
    value.dispose();
  }

  async inferStep(): Promise<void> {
    const logits = this.model.predict(this.xInfer);
    await logits.data();
    logits.dispose();
  }

  dispose(): void {
    tf.dispose([this.x, this.labels, this.xInfer]);
    this.optimizer.dispose();
    this.model.dispose();
  }
}

interface Timing {
  /** Median wall time per step, s. */
  seconds: number;
  /** Median CPU time per step (all threads), s. */
  cpu: number;
}

/** Median step times of `steps` runs after `warmup` untimed ones. */
async function timeSteps(steps: number, warmup: number, step: () => Promise<void>): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await step();
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < steps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await step();
    times.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  }
  return { seconds: median(times), cpu: median(cpu) };
}

/** PyTorch's median step times, or why there are none. */
function torchSteps(config: string, mode: "train" | "infer", steps: number, warmup: number, threads: number): (Timing & { version: string }) | { error: string } {
  const script = fileURLToPath(new URL("../../bench/train_torch.py", import.meta.url));
  const python = process.env.CLUELAB_PYTHON ?? "/usr/bin/python3";
  const batch = mode === "train" ? TRAIN_BATCH : INFER_BATCH;
  const r = spawnSync(
    python,
    [script, "--config", config, "--mode", mode, "--batch", String(batch), "--classes", String(CONFIGS[config]?.classes ?? 100), "--steps", String(steps), "--warmup", String(warmup),
      "--lr", String(LR), "--weight-decay", String(WEIGHT_DECAY), "--threads", String(threads)],
    { env: { ...process.env, OPENBLAS_NUM_THREADS: "1" }, encoding: "utf8", timeout: 1_800_000 },
  );
  if (r.status !== 0) {
    const why = r.error?.message ?? (r.stderr.trim().split("\n").slice(-1)[0] || `exit status ${r.status}`);
    return { error: `PyTorch peer did not run (${python} ${script}): ${why}` };
  }
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { img_s: number; cpu_times: number[]; torch: string };
  return { seconds: batch / out.img_s, cpu: median(out.cpu_times), version: out.torch };
}

/** Where one training step's time goes, per kernel (wrapper entries left out). */
async function profileStep(ours: Ours): Promise<KernelProfile> {
  await ours.trainStep();
  const t0 = performance.now();
  const info = await tf.profile(() => ours.trainStep());
  const stepMs = performance.now() - t0;
  const by = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    // Wrappers time the kernels inside them again: op scopes ("…__op") and custom-gradient ops
    // ("unnamed scope", e.g. the fused linear) are left out.
    if (k.name.endsWith("__op") || k.name === "unnamed scope") continue;
    const e = by.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += k.kernelTimeMs as number;
    e.calls++;
    by.set(k.name, e);
  }
  const rows = [...by.entries()].map(([kernel, e]) => ({ kernel, ...e })).sort((a, b) => b.ms - a.ms);
  return {
    config: ours.config,
    step_ms: stepMs,
    kernel_ms: rows.reduce((s, r) => s + r.ms, 0),
    kernels: rows.reduce((s, r) => s + r.calls, 0),
    top: rows.slice(0, 25),
  };
}

export async function run({ json, args }: BenchOptions): Promise<void> {
  const configs = option(args, "configs", Object.keys(CONFIGS).join(",")).split(",");
  for (const c of configs) {
    if (!cluenet.configs().some((e) => e.name === c)) throw new Error(`unknown config "${c}"; the registry has ${cluenet.configs().map((e) => e.name).join(", ")}`);
  }
  const rounds = positive(args, "rounds", 3);
  const steps = positive(args, "steps", 5);
  const warmup = positive(args, "warmup", 10);
  const threads = args.includes("--threads") ? positive(args, "threads", 2) : null;
  // Before the backend loads: the native pool reads it once.
  if (threads !== null) process.env.CLUELAB_NATIVE_THREADS = String(threads);
  await ready();
  const info = (await engineInfo())!;
  const before = load();
  const rows: TrainRow[] = [];
  const cpuRows: CpuRow[] = [];
  const profiles: KernelProfile[] = [];
  const notes: string[] = [];
  let torchVersion: string | null = null;
  for (const config of configs) {
    const ours = new Ours(config);
    try {
      for (const mode of ["train", "infer"] as const) {
        const batch = mode === "train" ? TRAIN_BATCH : INFER_BATCH;
        const mine: Timing[] = [];
        const theirs: Timing[] = [];
        for (let r = 0; r < rounds; r++) {
          progress(`${config} ${mode} round ${r + 1}/${rounds}: ${info.backend} …`);
          mine.push(await timeSteps(steps, warmup, () => (mode === "train" ? ours.trainStep() : ours.inferStep())));
          progress(`${config} ${mode} round ${r + 1}/${rounds}: ${info.backend} ${(batch / mine.at(-1)!.seconds).toFixed(1)} img/s; PyTorch …`);
          const peer = torchSteps(config, mode, steps, warmup, threads ?? 2);
          if ("error" in peer) {
            notes.push(peer.error);
            break;
          }
          torchVersion = peer.version;
          theirs.push(peer);
          progress(`${config} ${mode} round ${r + 1}/${rounds}: PyTorch ${(batch / peer.seconds).toFixed(1)} img/s`);
        }
        const img = batch / median(mine.map((t) => t.seconds));
        const peerImg = theirs.length ? batch / median(theirs.map((t) => t.seconds)) : null;
        rows.push({ config, mode, batch, img_s: img, torch_img_s: peerImg, ratio: peerImg ? img / peerImg : null });
        cpuRows.push({ config, mode, cpu_s: median(mine.map((t) => t.cpu)), torch_cpu_s: theirs.length ? median(theirs.map((t) => t.cpu)) : null });
      }
      if (args.includes("--profile")) profiles.push(await profileStep(ours));
    } finally {
      ours.dispose();
    }
  }
  const report: TrainReport = {
    backend: info.backend,
    threads,
    device: info.status.device ?? info.backend,
    machine: { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length },
    torch: torchVersion,
    rounds,
    steps,
    warmup,
    rows,
    cpu: cpuRows,
    load: { before, after: load() },
    ...(profiles.length ? { profiles } : {}),
    notes: [...new Set(notes)],
  };
  process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : renderText(report));
}

function renderText(r: TrainReport): string {
  const f = (v: number | null, d = 1) => (v === null ? "—" : v.toFixed(d));
  const header = ["config", "mode", "batch", "img/s", "torch img/s", "ratio"];
  const body = r.rows.map((row) => [row.config, row.mode, String(row.batch), f(row.img_s), f(row.torch_img_s), f(row.ratio, 2)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const pressure = (l: Load) => `load ${l.loadavg}${l.cpu_pressure_avg10 === null ? "" : `, CPU pressure ${l.cpu_pressure_avg10.toFixed(0)}%`}`;
  const lines = [
    `CLUENet images/s — ours on ${r.backend} (${r.device}) vs PyTorch ${r.torch ?? "?"} (${r.threads ?? 2} thread(s), OPENBLAS_NUM_THREADS=1); ${r.machine.cpu}, ${r.machine.cores} cores`,
    `median over ${r.rounds} round(s) of each round's median of ${r.steps} step(s) after ${r.warmup} warm-up step(s); train = forward + cross-entropy + backward + AdamW`,
    "",
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...body.map(line),
    "",
    "CPU time per step (all threads), s: " +
      r.cpu.map((c) => `${c.config} ${c.mode} ${f(c.cpu_s, 3)} vs ${f(c.torch_cpu_s, 3)}`).join("; "),
    `machine before: ${pressure(r.load.before)}; after: ${pressure(r.load.after)}`,
  ];
  for (const p of r.profiles ?? []) {
    lines.push("", `${p.config}: one training step ${p.step_ms.toFixed(0)} ms under tf.profile, ${p.kernels} kernels, ${p.kernel_ms.toFixed(0)} ms inside kernels`);
    for (const k of p.top) lines.push(`  ${k.kernel.padEnd(36)} ${k.ms.toFixed(1).padStart(8)} ms  ${String(k.calls).padStart(5)} calls  ${((100 * k.ms) / p.kernel_ms).toFixed(1).padStart(5)}%`);
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join("\n") + "\n";
}
