/**
 * `npm run bench -- engine [--json]`: what each compute backend that loads here delivers on the
 * three shapes of work cluelab spends its time on, next to what the CPU could do.
 *
 * Rows (one per backend that loads):
 *  - matMul 1024×1024×1024 float32, in GFLOP/s and as % of the CPU's computed FP32 peak;
 *  - one training step (forward, backward, Adam update) of a small conv net, batch 64 of 32×32×3;
 *  - one training step of the CLUENet Cluster block's hot path (cluster attention), batch 64.
 * Peak lines: the computed FMA peak, and numpy's native BLAS on the same matMul (bench/peak.py).
 *
 * Every time is the median of several runs after a warm-up, except where one run is so slow that
 * repeating it would blow the ~3 minute budget: then the row says how many runs it is based on.
 * Every read goes through `await t.data()`, which both synchronises and works on WebGPU.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { doctor, tf, type BackendStatus } from "../lib/engine/index.js";
import type { BenchOptions } from "./types.js";

// ---------------------------------------------------------------------------------------------
// Report shape (the --json contract)

/** One backend's results. Nulls mean not measured; `notes` says why, and how each was measured. */
export interface EngineRow {
  backend: string;
  device: string;
  software: boolean;
  matmul_gflops: number | null;
  matmul_pct_peak: number | null;
  conv_step_ms: number | null;
  conv_img_s: number | null;
  cluster_step_ms: number | null;
  cluster_img_s: number | null;
  /** Engine overhead of one op on tiny tensors (dispatch, allocation, dispose), in µs. */
  op_us: number | null;
  notes: string[];
}

export interface EngineReport {
  machine: MachineInfo;
  peak: {
    computed_gflops: number | null;
    /** How computed_gflops was derived (cores × GHz × FLOP/cycle, and why that FLOP/cycle). */
    computed_basis: string;
    blas_gflops: number | null;
    /** Which BLAS, how many runs, or why there is no figure (numpy not installed, …). */
    blas_note: string;
  };
  rows: EngineRow[];
  /** Backends that did not load here, with TensorFlow.js' or the loader's reason. */
  unavailable: Array<{ backend: string; reason: string }>;
}

interface MachineInfo {
  cpu: string;
  cores: number;
  mhz: number | null;
  cpu_family: number | null;
  simd: string;
  flops_per_cycle: number;
  platform: string;
  node: string;
  tfjs: string;
}

// ---------------------------------------------------------------------------------------------
// Workload sizes

const MATMUL_N = 1024;
const BATCH = 64;
const IMAGE = 32;
const CLASSES = 10;
/** Cluster block: 16×16 pixels, 64 channels, 4×4 centers (avgPool 4), one head. */
const GRID = 16;
const CHANNELS = 64;
const POOL = 4;
const CENTERS = (GRID / POOL) ** 2;
const PIXELS = GRID * GRID;

// ---------------------------------------------------------------------------------------------
// Timing

interface Plan {
  /** Measured runs wanted after the warm-up. */
  runs: number;
  /** Stop adding runs beyond `minRuns` once this much time has been spent measuring. */
  budgetMs: number;
  minRuns: number;
  /**
   * A warm-up slower than this is taken as the measurement (with at most `slowRuns` more runs):
   * the cpu backend takes seconds per matMul and tens of seconds per conv step.
   */
  slowMs: number;
  slowRuns: number;
}

interface Timing {
  ms: number;
  runs: number;
  /** How the figure was obtained, when it is not "median of N after a warm-up". */
  note?: string;
  /** Tensors alive after the last run beyond those alive after the warm-up (0 when no run followed it). */
  leaked: number;
}

async function measure(label: string, step: () => Promise<void>, plan: Plan): Promise<Timing> {
  let start = performance.now();
  await step();
  const warm = performance.now() - start;
  const settled = tf.memory().numTensors; // optimizers create their slots on the first step
  progress(`  ${label}: warm-up ${fmtMs(warm)}`);
  const samples: number[] = [];
  const wanted = warm > plan.slowMs ? plan.slowRuns : plan.runs;
  let spent = 0;
  while (samples.length < wanted && (samples.length < plan.minRuns || spent < plan.budgetMs)) {
    start = performance.now();
    await step();
    const ms = performance.now() - start;
    samples.push(ms);
    spent += ms;
  }
  const leaked = tf.memory().numTensors - settled;
  if (samples.length === 0) {
    return {
      ms: warm,
      runs: 1,
      note: `one cold run only (${fmtMs(warm)}; more would exceed the time budget)`,
      leaked: 0,
    };
  }
  const ms = median(samples);
  progress(`  ${label}: median ${fmtMs(ms)} over ${samples.length} run(s)`);
  const note = samples.length < plan.minRuns ? `${samples.length} run(s) after a ${fmtMs(warm)} warm-up (slow)` : undefined;
  return { ms, runs: samples.length, note, leaked };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

// Plans sized so the whole run (cpu, wasm, software webgpu) stays near three minutes.
const MATMUL_PLAN: Plan = { runs: 9, minRuns: 3, budgetMs: 6_000, slowMs: 2_500, slowRuns: 1 };
const STEP_PLAN: Plan = { runs: 9, minRuns: 5, budgetMs: 10_000, slowMs: 4_000, slowRuns: 1 };

// ---------------------------------------------------------------------------------------------
// Workloads. Each returns the step to time and a dispose for everything it allocated.

interface Workload {
  step: () => Promise<void>;
  dispose: () => void;
}

function matmulWorkload(): Workload {
  const a = tf.randomNormal([MATMUL_N, MATMUL_N], 0, 1, "float32", 1);
  const b = tf.randomNormal([MATMUL_N, MATMUL_N], 0, 1, "float32", 2);
  return {
    async step() {
      const c = tf.matMul(a, b);
      await c.data();
      c.dispose();
    },
    dispose: () => tf.dispose([a, b]),
  };
}

/** He-scaled random weights as a trainable variable; the seed keeps runs comparable. */
function weight(shape: number[], fanIn: number, seed: number): tf.Variable {
  return variable(() => tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), "float32", seed));
}

/** tf.variable shares, not takes, its initial tensor: the tidy frees that tensor, keeps the variable. */
function variable(initial: () => tf.Tensor): tf.Variable {
  return tf.tidy(() => tf.variable(initial()));
}

/**
 * One training step: gradients of `loss` for every variable, then an Adam update (what
 * `optimizer.minimize` does, spelled out so the step can insist that every variable, α and β
 * included, gets a gradient). The loss is read back: that is the synchronisation point.
 */
function trainingStep(loss: () => tf.Scalar, vars: tf.Variable[]): Workload {
  const optimizer = tf.train.adam(1e-3);
  return {
    async step() {
      const { value, grads } = tf.variableGrads(loss, vars);
      const missing = vars.filter((v) => !grads[v.name]).map((v) => v.name);
      if (missing.length) {
        tf.dispose([value, ...Object.values(grads)]);
        throw new Error(`no gradient for ${missing.join(", ")}`);
      }
      optimizer.applyGradients(vars.map((v) => ({ name: v.name, tensor: grads[v.name]! })));
      tf.dispose(Object.values(grads));
      await value.data();
      value.dispose();
    },
    dispose() {
      optimizer.dispose();
      tf.dispose(vars);
    },
  };
}

/**
 * conv3×3(16)+relu → maxPool 2 → depthwise 3×3 + conv1×1(32) + relu → global average pool →
 * dense 10, softmax cross-entropy: the kernels a small vision model trains on.
 */
function convWorkload(): Workload {
  const x = tf.randomNormal([BATCH, IMAGE, IMAGE, 3], 0, 1, "float32", 3) as tf.Tensor4D;
  const labels = tf.tidy(() => tf.oneHot(tf.randomUniform([BATCH], 0, CLASSES, "int32", 4), CLASSES).toFloat());
  const w1 = weight([3, 3, 3, 16], 27, 5);
  const b1 = variable(() => tf.zeros([16]));
  const dw = weight([3, 3, 16, 1], 9, 6);
  const pw = weight([1, 1, 16, 32], 16, 7);
  const b2 = variable(() => tf.zeros([32]));
  const wd = weight([32, CLASSES], 32, 8);
  const bd = variable(() => tf.zeros([CLASSES]));
  const loss = () => {
    let h: tf.Tensor4D = tf.relu(tf.conv2d(x, w1 as tf.Tensor4D, 1, "same").add(b1));
    h = tf.maxPool(h, 2, 2, "valid");
    h = tf.depthwiseConv2d(h, dw as tf.Tensor4D, 1, "same");
    h = tf.relu(tf.conv2d(h, pw as tf.Tensor4D, 1, "same").add(b2));
    const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
    const logits = tf.matMul(pooled, wd as tf.Tensor2D).add(bd);
    return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  };
  const step = trainingStep(loss, [w1, b1, dw, pw, b2, wd, bd]);
  return { step: step.step, dispose: () => (step.dispose(), tf.dispose([x, labels])) };
}

/** Rows of `t` scaled to unit length along the last axis (cosine similarity by matMul). */
function l2normalize(t: tf.Tensor3D): tf.Tensor3D {
  return t.mul(tf.rsqrt(t.square().sum(-1, true).add(1e-6)));
}

/**
 * The CLUENet Cluster block's hot path, one head: keys and values, 4×4-pooled centers,
 * cosine attention of centers over pixels, a gated center update, sigmoid assignment of pixels
 * to their best center, and the dispatch back to pixels. Its kernels (batched matMul over
 * [B,M,N], softmax over N, avgPool, argMax/oneHot) are what cluelab's vision models spend time on.
 */
function clusterWorkload(): Workload {
  const B = BATCH, N = PIXELS, C = CHANNELS, M = CENTERS;
  const x = tf.randomNormal([B * N, C], 0, 1, "float32", 9) as tf.Tensor2D;
  const wk = weight([C, C], C, 10);
  const wv = weight([C, C], C, 11);
  const wq = weight([C, C], C, 12);
  const wo = weight([C, C], C, 13);
  const wg = weight([2 * C, C], 2 * C, 14);
  const bg = variable(() => tf.zeros([C]));
  const alpha = variable(() => tf.scalar(1));
  const beta = variable(() => tf.scalar(0));
  const temperature = tf.scalar(0.1);
  /** [B,16,16,C] → 4×4 average pool → [B,M,C]. */
  const centersOf = (t: tf.Tensor2D) =>
    tf.avgPool(t.reshape([B, GRID, GRID, C]) as tf.Tensor4D, POOL, POOL, "valid").reshape([B, M, C]) as tf.Tensor3D;
  const loss = () => {
    const k2 = tf.matMul(x, wk as tf.Tensor2D) as tf.Tensor2D;
    const v2 = tf.matMul(x, wv as tf.Tensor2D) as tf.Tensor2D;
    const k = k2.reshape([B, N, C]) as tf.Tensor3D;
    const v = v2.reshape([B, N, C]) as tf.Tensor3D;
    const kc = centersOf(k2);
    const vc = centersOf(v2);
    const kn = l2normalize(k);
    const attn = tf.softmax(tf.matMul(l2normalize(kc), kn, false, true).div(temperature)); // [B,M,N] over N
    const ca = tf.matMul(attn, v); // [B,M,C]
    const gate = tf.sigmoid(tf.matMul(tf.concat([ca, vc], -1).reshape([B * M, 2 * C]), wg as tf.Tensor2D).add(bg)).reshape([B, M, C]);
    const centers = tf.sub(1, gate).mul(ca).add(gate.mul(vc)) as tf.Tensor3D;
    const q = tf.matMul(centers.reshape([B * M, C]), wq as tf.Tensor2D).reshape([B, M, C]) as tf.Tensor3D;
    const s = tf.sigmoid(tf.matMul(l2normalize(q), kn, false, true).mul(alpha).add(beta)) as tf.Tensor3D; // [B,M,N]
    const mask = tf.oneHot(tf.argMax(s, 1), M).toFloat(); // [B,N,M]: each pixel's best center
    const dispatched = tf.matMul(s.transpose([0, 2, 1]).mul(mask), centers); // Sᵀ·centers [B,N,C]
    const out = tf.matMul(dispatched.reshape([B * N, C]), wo as tf.Tensor2D);
    return tf.mean(out.square()) as tf.Scalar;
  };
  const step = trainingStep(loss, [wk, wv, wq, wo, wg, bg, alpha, beta]);
  return { step: step.step, dispose: () => (step.dispose(), tf.dispose([x, temperature])) };
}

/**
 * Microseconds per op where the arithmetic is negligible: an add of two 4-element tensors and its
 * dispose, median of 5 batches of 2000 — what every kernel pays before it computes anything.
 */
function opOverhead(): number {
  const a = tf.ones([4]);
  const b = tf.ones([4]);
  const batches: number[] = [];
  for (let k = 0; k < 6; k++) {
    const start = performance.now();
    for (let i = 0; i < 2000; i++) tf.add(a, b).dispose();
    if (k > 0) batches.push(((performance.now() - start) * 1000) / 2000); // the first batch warms up
  }
  tf.dispose([a, b]);
  return median(batches);
}

// ---------------------------------------------------------------------------------------------
// Machine and peak

/**
 * FP32 FLOP per cycle per core from the SIMD flags: 2 FMA pipes × lanes × 2 FLOP. AVX-512 counts
 * as 16 lanes only where the pipes are 512 bits wide (AMD Zen 5 = family 26, and Intel server
 * parts, some of which have a single 512-bit FMA unit: then this is 2× too high); Zen 4
 * (family 25) splits AVX-512 onto 256-bit pipes.
 */
function simdPeak(flags: Set<string>, vendor: string, family: number | null): { simd: string; flops: number; why: string } {
  const amd = vendor === "AuthenticAMD";
  if (flags.has("avx512f") && !(amd && family !== null && family < 26)) {
    return { simd: "AVX-512+FMA", flops: 64, why: "2 FMA pipes × 16 lanes × 2, 512-bit datapath" };
  }
  if (flags.has("avx2") && flags.has("fma")) {
    const why = flags.has("avx512f") ? "2 FMA pipes × 8 lanes × 2, AVX-512 split onto 256-bit pipes" : "2 FMA pipes × 8 lanes × 2";
    return { simd: flags.has("avx512f") ? "AVX-512 (256-bit pipes)" : "AVX2+FMA", flops: 32, why };
  }
  if (flags.has("avx")) return { simd: "AVX", flops: 16, why: "8-lane add + 8-lane mul per cycle" };
  return { simd: "SSE", flops: 8, why: "4-lane add + 4-lane mul per cycle" };
}

function machineInfo(): { machine: MachineInfo; why: string } {
  let text = "";
  try {
    text = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    // not Linux: fall back to os.cpus() below
  }
  const field = (name: string) => [...text.matchAll(new RegExp(`^${name}\\s*:\\s*(.*)$`, "gm"))].map((m) => m[1]!.trim());
  const list = cpus();
  // "cpu MHz" is the current clock per core on bare metal, the nominal one in most VMs.
  const mhzValues = field("cpu MHz").map(Number).filter((v) => v > 0);
  const fallbackMhz = list[0]?.speed ?? 0;
  const mhz = mhzValues.length ? mhzValues.reduce((a, b) => a + b, 0) / mhzValues.length : fallbackMhz > 0 ? fallbackMhz : null;
  const family = field("cpu family")[0];
  const cpuFamily = family !== undefined && Number.isFinite(Number(family)) ? Number(family) : null;
  const flags = new Set((field("flags")[0] ?? "").split(/\s+/));
  const { simd, flops, why: simdWhy } = simdPeak(flags, field("vendor_id")[0] ?? "", cpuFamily);
  // Under a hypervisor "cpu MHz" is the nominal clock; boost runs higher, so the peak is a floor.
  const why = flags.has("hypervisor") ? `${simdWhy}; clock as the hypervisor reports it, boost may run higher` : simdWhy;
  const machine: MachineInfo = {
    cpu: field("model name")[0] ?? list[0]?.model ?? "unknown",
    cores: list.length,
    mhz: mhz === null ? null : Math.round(mhz),
    cpu_family: cpuFamily,
    simd,
    flops_per_cycle: flops,
    platform: `${process.platform}-${process.arch}`,
    node: process.versions.node,
    tfjs: tf.version_core,
  };
  return { machine, why };
}

function computedPeak(machine: MachineInfo, why: string): { gflops: number | null; basis: string } {
  if (machine.mhz === null) return { gflops: null, basis: "CPU clock unknown (no 'cpu MHz' in /proc/cpuinfo)" };
  const gflops = (machine.cores * machine.mhz * machine.flops_per_cycle) / 1000;
  return {
    gflops,
    basis: `${machine.cores} cores × ${(machine.mhz / 1000).toFixed(3)} GHz × ${machine.flops_per_cycle} FLOP/cycle (${machine.simd}: ${why})`,
  };
}

/** Finds bench/peak.py from dist/bench/ (tsc does not copy it) or next to this file. */
function peakScript(): string | undefined {
  const candidates = ["../../bench/peak.py", "./peak.py"].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  return candidates.find((p) => existsSync(p));
}

/** numpy's BLAS on the same matMul: what this CPU does with native code and every core. */
function blasPeak(): { gflops: number | null; note: string } {
  const python = "/usr/bin/python3";
  const script = peakScript();
  if (!script) return { gflops: null, note: "bench/peak.py not found" };
  if (!existsSync(python)) return { gflops: null, note: `${python} not found` };
  const env = { ...process.env };
  delete env.OPENBLAS_NUM_THREADS; // let OpenBLAS use every core, as the computed peak does
  const result = spawnSync(python, [script], { env, encoding: "utf8", timeout: 120_000 });
  if (result.error) return { gflops: null, note: `${python} failed: ${result.error.message}` };
  const line = result.stdout.trim().split("\n").pop() ?? "";
  try {
    const parsed = JSON.parse(line) as { gflops?: number; runs?: number; numpy?: string; blas?: string | null; error?: string };
    if (parsed.error) return { gflops: null, note: parsed.error };
    if (typeof parsed.gflops !== "number") throw new Error("no gflops");
    const blas = parsed.blas ? `, ${parsed.blas}` : "";
    return { gflops: parsed.gflops, note: `numpy ${parsed.numpy}${blas}, median of ${parsed.runs} runs` };
  } catch {
    const why = (result.stderr || result.stdout).trim().split("\n").pop() ?? `exit status ${result.status}`;
    return { gflops: null, note: `peak.py gave no result: ${why}` };
  }
}

// ---------------------------------------------------------------------------------------------
// Per-backend run

async function benchBackend(status: BackendStatus, peak: number | null): Promise<EngineRow> {
  const row: EngineRow = {
    backend: status.name,
    device: status.device ?? status.name,
    software: status.software === true,
    matmul_gflops: null,
    matmul_pct_peak: null,
    conv_step_ms: null,
    conv_img_s: null,
    cluster_step_ms: null,
    cluster_img_s: null,
    op_us: null,
    notes: [],
  };
  if (row.software) row.notes.push("software adapter (runs on the CPU): proves the WebGPU path, not GPU speed");
  if (!(await tf.setBackend(status.name))) {
    row.notes.push("TensorFlow.js could not switch to it");
    return row;
  }
  await tf.ready();
  const baseline = tf.memory().numTensors;
  progress(`${status.name}: ${row.device}`);

  const run = async (label: string, make: () => Workload, plan: Plan): Promise<Timing | undefined> => {
    let workload: Workload | undefined;
    try {
      workload = make();
      const timing = await measure(label, workload.step, plan);
      if (timing.note) row.notes.push(`${label}: ${timing.note}`);
      if (timing.leaked > 0) row.notes.push(`${label}: ${timing.leaked} tensor(s) leaked over ${timing.runs} run(s)`);
      return timing;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      row.notes.push(`${label}: failed: ${message.split("\n")[0]}`);
      progress(`  ${label}: failed: ${message}`);
      return undefined;
    } finally {
      workload?.dispose();
    }
  };

  const mm = await run("matMul", matmulWorkload, MATMUL_PLAN);
  if (mm) {
    row.matmul_gflops = (2 * MATMUL_N ** 3) / (mm.ms / 1000) / 1e9;
    row.matmul_pct_peak = peak ? (100 * row.matmul_gflops) / peak : null;
  }
  const conv = await run("conv step", convWorkload, STEP_PLAN);
  if (conv) {
    row.conv_step_ms = conv.ms;
    row.conv_img_s = (BATCH * 1000) / conv.ms;
  }
  const cluster = await run("cluster step", clusterWorkload, STEP_PLAN);
  if (cluster) {
    row.cluster_step_ms = cluster.ms;
    row.cluster_img_s = (BATCH * 1000) / cluster.ms;
  }
  row.op_us = opOverhead();
  const left = tf.memory().numTensors - baseline;
  if (left !== 0) row.notes.push(`${left} tensor(s) still allocated after disposing the workloads`);
  return row;
}

// ---------------------------------------------------------------------------------------------
// Entry point and output

export async function run({ json, args }: BenchOptions): Promise<void> {
  // Optional backend names after the benchmark's name limit the rows: `npm run bench -- engine native wasm`.
  const only = args.filter((a) => !a.startsWith("-"));
  const { machine, why } = machineInfo();
  const computed = computedPeak(machine, why);
  // BLAS first, while nothing else in this process is computing.
  progress("peak: timing numpy's BLAS matMul 1024³ …");
  const blas = blasPeak();
  progress("loading every backend (doctor) …");
  const report = await doctor();
  const rows: EngineRow[] = [];
  for (const status of report.backends.filter((s) => s.loaded && (only.length === 0 || only.includes(s.name)))) {
    rows.push(await benchBackend(status, computed.gflops));
  }
  const out: EngineReport = {
    machine,
    peak: { computed_gflops: computed.gflops, computed_basis: computed.basis, blas_gflops: blas.gflops, blas_note: blas.note },
    rows,
    unavailable: report.backends.filter((s) => !s.loaded).map((s) => ({ backend: s.name, reason: s.reason ?? "did not load" })),
  };
  process.stdout.write(json ? JSON.stringify(out, null, 2) + "\n" : renderText(out));
}

function renderText(report: EngineReport): string {
  const { machine, peak, rows } = report;
  const fix = (v: number | null, digits: number) => (v === null ? "—" : v.toFixed(digits));
  const header = ["backend", "device", "matMul GFLOP/s", "% peak", "conv step ms", "conv img/s", "cluster step ms", "cluster img/s", "op µs"];
  const body = rows.map((r) => [
    r.backend,
    r.software ? `[software] ${r.device}` : r.device,
    fix(r.matmul_gflops, 1),
    fix(r.matmul_pct_peak, 1),
    fix(r.conv_step_ms, 0),
    fix(r.conv_img_s, 1),
    fix(r.cluster_step_ms, 0),
    fix(r.cluster_img_s, 1),
    fix(r.op_us, 1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  // Text columns left-aligned, numbers right-aligned.
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const lines = [
    `engine benchmark — ${machine.cpu}, ${machine.cores} cores @ ${machine.mhz ?? "?"} MHz, ${machine.simd}; node ${machine.node}, tfjs ${machine.tfjs}`,
    `workloads: matMul ${MATMUL_N}³ f32; conv-net train step, batch ${BATCH} × ${IMAGE}×${IMAGE}×3; cluster-attention train step, batch ${BATCH}, N=${PIXELS}, C=${CHANNELS}, M=${CENTERS}; op µs = one add of 4-element tensors with its dispose`,
    "",
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...body.map(line),
    "",
    `computed FP32 peak: ${peak.computed_gflops === null ? "unknown" : `${peak.computed_gflops.toFixed(1)} GFLOP/s`} = ${peak.computed_basis}`,
    `native BLAS matMul ${MATMUL_N}³: ${
      peak.blas_gflops === null
        ? peak.blas_note
        : `${peak.blas_gflops.toFixed(1)} GFLOP/s${peak.computed_gflops ? ` (${((100 * peak.blas_gflops) / peak.computed_gflops).toFixed(1)}% of peak)` : ""} — ${peak.blas_note}`
    }`,
  ];
  for (const u of report.unavailable) lines.push(`not loaded: ${u.backend} — ${u.reason}`);
  const noted = rows.filter((r) => r.notes.length);
  if (noted.length) lines.push("", "notes:");
  for (const r of noted) for (const n of r.notes) lines.push(`  ${r.backend}: ${n}`);
  lines.push("times are medians after a warm-up unless a note says otherwise; img/s = batch / step time");
  return lines.join("\n") + "\n";
}

function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}
