/**
 * Finds and loads the native addon (`native/build/cluelab-native.node`, built from `native/src`
 * by `scripts/build-native.sh`), or says exactly why it cannot.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

type F32 = Float32Array;
type Typed = Float32Array | Int32Array | Uint8Array;

/** The addon's exports (native/src/*.cc documents each). */
export interface NativeAddon {
  info(): { threads: number; onednn: string; isa: string };
  setThreads(n: number): void;
  matmul(out: F32, a: F32, b: F32, bias: F32 | null, batchA: number, batchB: number, m: number, n: number, k: number,
    transA: number, transB: number, activation: number, alpha: number): void;
  /**
   * The dense layer's gradient in one sweep over the rows: dx = dy·wᵀ [rows, k], dw = xᵀ·dy [k, n]
   * and, unless null, dbias = Σ_rows dy [n] (native/src/linear.cc).
   */
  linearGrad(dx: F32 | null, dw: F32, dbias: F32 | null, dy: F32, x: F32, w: F32, rows: number, k: number, n: number): void;
  /** out [m, n] = Σ op(a_i)·op(b_i) over the (a_i, b_i, k_i) triples that follow: one output written once, no Add. */
  matmulSum(out: F32, m: number, n: number, transA: number, transB: number, ...terms: Array<F32 | number>): void;
  /** Which kernel matmul runs on: 0 the measured routing, 1 always oneDNN, 2 always the hand-written one. */
  gemmPolicy(policy: number): void;
  conv(mode: number, out: F32, in1: F32, in2: F32, params: Int32Array, bias?: F32 | null): void;
  /** conv's modes 0 and 2 for few input channels (native/src/narrowconv.cc states which shapes). */
  narrowConv(mode: number, out: F32, in1: F32, in2: F32, params: Int32Array, bias?: F32 | null): void;
  depthwise(mode: number, out: F32, in1: F32, in2: F32, params: Int32Array, bias?: F32 | null): void;
  depthwiseGrad(dx: F32, dFilter: F32, dBias: F32 | null, dy: F32, x: F32, filter: F32, params: Int32Array): void;
  /** y = gelu(depthwise(x, filter) + bias) and, when `slope` is given, slope = gelu'(z) of that pre-activation z. */
  depthwiseGelu(y: F32, slope: F32 | null, x: F32, filter: F32, bias: F32, params: Int32Array): void;
  /** The gradients of depthwiseGelu's y from dy and the `slope` it saved. */
  depthwiseGeluGrad(dx: F32, dFilter: F32, dBias: F32, dy: F32, x: F32, filter: F32, slope: F32, params: Int32Array): void;
  pool(mode: number, out: F32, in1: F32, in2: F32 | null, params: Int32Array): void;
  /** Average pooling with windows that tile the image (pool's params; mode 0 y from x, 1 dx from dy). */
  avgPoolTiles(mode: number, out: F32, input: F32, params: Int32Array): void;
  /** dx = skip + dy [n, gh, gw, c] spread over the equal windows of [n, h, w, c] ÷ their area (passAndPool's gradient). */
  poolSpreadAdd(dx: F32, skip: F32, dy: F32, n: number, h: number, w: number, c: number, gh: number, gw: number): void;
  /** y = x L2-normalised per d channels, pooled = x averaged over the gh×gw equal windows (normalizeAndPool). */
  normalizePool(y: F32, pooled: F32, x: F32, n: number, h: number, w: number, c: number, d: number, gh: number, gw: number, eps: number): void;
  /** dx = l2NormalizeGrad(dy, x) + dpooled spread over its window ÷ its area. */
  normalizePoolGrad(dx: F32, dy: F32, dpooled: F32, x: F32, n: number, h: number, w: number, c: number, d: number, gh: number, gw: number,
    eps: number): void;
  unary(op: number, y: F32, x: F32, alpha: number, beta: number): void;
  binary(op: number, out: Typed, a: Typed, b: Typed, shape: Int32Array, stridesA: Int32Array, stridesB: Int32Array): void;
  /** `tiled` 1: sum/mean on the general row-tiled kernel even where the column kernels run (benchmarks and tests compare them). */
  reduce(op: number, out: Typed, x: Typed, outer: number, r: number, inner: number, tiled?: 0 | 1): void;
  softmax(y: F32, x: F32, rows: number, cols: number): void;
  copyStrided(out: Typed, x: Typed, shape: Int32Array, outStrides: Int32Array, inStrides: Int32Array, outOffset: number, inOffset: number): void;
  fill(out: Typed, value: number): void;
  cast(out: Typed, x: Typed): void;
  oneHot(out: F32 | Int32Array, indices: Int32Array, depth: number, on: number, off: number): void;
  gather(out: Typed, x: Typed, indices: Int32Array, outer: number, axisLength: number, inner: number): void;
  segmentSum(out: F32, x: F32, ids: Int32Array, numSegments: number, inner: number): void;
  select(out: Typed, condition: Uint8Array, a: Typed, b: Typed, inner: number): void;
  addN(out: F32, ...xs: F32[]): void;
  layerNorm(y: F32, mean: F32, rstd: F32, x: F32, gamma: F32 | null, beta: F32 | null, rows: number, cols: number, eps: number): void;
  /** `skip`: the gradient of x's other use, added to dx (layerNormTee). */
  layerNormGrad(dx: F32 | null, dgamma: F32 | null, dbeta: F32 | null, dy: F32, x: F32, gamma: F32 | null, mean: F32, rstd: F32,
    rows: number, cols: number, skip?: F32 | null): void;
  /** y = gelu(x) and, when `slope` is given (it may be x itself), slope = gelu'(x). */
  gelu(y: F32, x: F32, slope?: F32 | null): void;
  geluGrad(dx: F32, dy: F32, x: F32): void;
  l2Normalize(y: F32, x: F32, rows: number, cols: number, eps: number): void;
  l2NormalizeGrad(dx: F32, dy: F32, x: F32, rows: number, cols: number, eps: number): void;
  /** `viaGemm` 1: the GEMM + argmax path even where the lane kernel runs (benchmarks and tests compare them). */
  nearestCenter(index: Int32Array, x: F32, centers: F32, groups: number, n: number, m: number, d: number, viaGemm?: 0 | 1): void;
  clusterMean(out: F32, counts: F32, index: Int32Array, values: F32, centers: F32, groups: number, n: number, m: number, d: number): void;
  clusterMeanGrad(dValues: F32, dCenters: F32, dy: F32, index: Int32Array, counts: F32, groups: number, n: number, m: number, d: number): void;
  adamw(param1: F32, m1: F32, v1: F32, param: F32, grad: F32, m: F32, v: F32, lr: number, beta1: number, beta2: number, eps: number,
    weightDecay: number, step: number): void;
  /** (lr, beta1, beta2, eps, weightDecay, step, then param, grad, m, v per variable): param, m and v updated in place. */
  adamwUpdate(...args: Array<number | F32>): void;
  residual(y: F32, x: F32, branch: F32, scale: F32 | null, mask: F32 | null, batch: number, cols: number): void;
  residualGrad(dbranch: F32, dscale: F32 | null, dy: F32, branch: F32 | null, scale: F32 | null, mask: F32 | null, batch: number,
    cols: number): void;
  // heads: the pixel operands are [B, N, heads·d] holding groups [heads·B, N, d] (native/src/heads.h)
  softAggregate(out: F32, stats: F32, q: F32, k: F32, v: F32, groups: number, m: number, n: number, d: number, dv: number, heads: number): void;
  softAggregateGrad(dq: F32, dk: F32, dv: F32, dy: F32, q: F32, k: F32, v: F32, out: F32, stats: F32, groups: number, m: number, n: number,
    d: number, dvChannels: number, heads: number): void;
  clusterAssign(index: Int32Array, score: F32, cos: F32, keys: F32, centers: F32, alpha: number, beta: number, groups: number, n: number,
    m: number, d: number, heads: number): void;
  clusterAssignGrad(dkeys: F32, dcenters: F32, dparams: F32, dscore: F32, index: Int32Array, score: F32, cos: F32, keys: F32, centers: F32,
    alpha: number, groups: number, n: number, m: number, d: number, heads: number): void;
  clusterDispatch(out: F32, index: Int32Array, score: F32, centers: F32, groups: number, n: number, m: number, d: number, heads: number): void;
  clusterDispatchGrad(dscore: F32, dcenters: F32, dy: F32, index: Int32Array, score: F32, centers: F32, groups: number, n: number, m: number,
    d: number, heads: number): void;
  /** y = x/max(‖x‖, 1e-12)/exp(max(alpha[0], floor)) per row of `cols`; heads > 1: x channels-last rows, y groups. */
  temperedNormalize(y: F32, x: F32, alpha: F32, rows: number, cols: number, floor: number, heads: number): void;
  temperedNormalizeGrad(dx: F32, dalpha: F32, dy: F32, x: F32, alpha: F32, rows: number, cols: number, floor: number, heads: number): void;
  /**
   * out = (1−g)·a + g·p per row, g from head h's MLP (a [heads, rows, d]; p the same, or with pRows 1 channels-last rows
   * [B, M, heads·d]; w1 [heads, 2d, hidden], b1, w2 [heads, hidden], b2 [heads]).
   */
  gatedMix(out: F32, a: F32, p: F32, w1: F32, b1: F32, w2: F32, b2: F32, heads: number, rows: number, d: number, hidden: number, pRows: number): void;
  gatedMixGrad(da: F32, dp: F32, dw1: F32, db1: F32, dw2: F32, db2: F32, dy: F32, a: F32, p: F32, w1: F32, b1: F32, w2: F32, b2: F32,
    heads: number, rows: number, d: number, hidden: number, pRows: number): void;
}

/** The package root (this file is dist/lib/engine/native/addon.js). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
const SOURCES = join(PACKAGE_ROOT, "native/src");
const BUILD = join(PACKAGE_ROOT, "native/build");

/** Where the addon is looked for: CLUELAB_NATIVE_ADDON, else the package's build folder. */
export function addonPath(): string {
  return process.env.CLUELAB_NATIVE_ADDON || join(BUILD, "cluelab-native.node");
}

/** What the build script recorded about the binary it produced. */
export interface BuildInfo {
  sourceHash: string;
  compiler: string;
  flags: string;
  builtAt: string;
  seconds: number;
}

export type AddonLoad = { addon: NativeAddon; path: string; build?: BuildInfo } | { reason: string; path: string };

const HOW_TO_BUILD =
  "build it with `npx cluelab build-native` (needs a C++ compiler and oneDNN: apt-get install build-essential libdnnl-dev)";

let loaded: AddonLoad | undefined;

/** Loads the addon once; later calls return the same answer. */
export function loadAddon(): AddonLoad {
  return (loaded ??= tryLoad());
}

function tryLoad(): AddonLoad {
  const path = addonPath();
  const custom = Boolean(process.env.CLUELAB_NATIVE_ADDON);
  if (!existsSync(path)) {
    if (custom) return { path, reason: `CLUELAB_NATIVE_ADDON=${path} does not exist` };
    const failure = readText(join(BUILD, "build-error.txt"));
    const why = failure ? `the last build failed: ${failure.trim().split("\n")[0]}` : "it has not been built";
    return { path, reason: `the native addon is not built here (${why}); ${HOW_TO_BUILD}` };
  }
  let build: BuildInfo | undefined;
  if (!custom) {
    build = readJson<BuildInfo>(join(BUILD, "build-info.json"));
    const current = sourceHash();
    if (current && build?.sourceHash !== current) {
      return { path, reason: `the native addon at ${path} was built from other sources than native/src; rebuild it: ${HOW_TO_BUILD}` };
    }
  }
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    if (typeof addon.matmul !== "function" || typeof addon.info !== "function") {
      return { path, reason: `${path} is not cluelab's native addon` };
    }
    return { addon, path, build };
  } catch (error) {
    const message = (error as Error).message.split("\n")[0] ?? String(error);
    const hint = /cannot open shared object|Library not loaded|libdnnl/.test(message)
      ? " (is oneDNN installed? apt-get install libdnnl2)"
      : "";
    return { path, reason: `the native addon did not load: ${message}${hint}` };
  }
}

/**
 * SHA-256 over native/src (file names and contents, sorted): the build script records the same,
 * so a binary left over from older sources is noticed. Undefined when the sources are absent.
 */
export function sourceHash(): string | undefined {
  if (!existsSync(SOURCES)) return undefined;
  const hash = createHash("sha256");
  for (const name of readdirSync(SOURCES).sort()) {
    hash.update(`${name}\n`);
    hash.update(readFileSync(join(SOURCES, name)));
  }
  return hash.digest("hex");
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function readJson<T>(path: string): T | undefined {
  const text = readText(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
