/**
 * The dense layer (lib/engine/fused/linear.ts) as one kernel each way: its GEMMs through the
 * addon's `matmul` (the same entry and routing as MatMul), its bias gradient through the addon's
 * `reduce` as the Sum kernel runs an axis-0 sum — or, for narrow layers, the whole gradient in
 * one sweep over the rows (the addon's `linearGrad`).
 */
import { tf } from "../../tf.js";
import { LINEAR, LINEAR_GRAD, LINEAR_PAIR, LINEAR_PAIR_GRAD } from "../../fused/names.js";
import type { NativeBackend } from "../backend.js";
import { nativeKernel, sizeOf } from "./common.js";
import { REDUCE_OP } from "./reduce.js";

/** rows, in and out of x [..., in] · w [in, out], after checking what the addon relies on. */
function dims(name: string, x: tf.TensorInfo, w: tf.TensorInfo, bias?: tf.TensorInfo): { rows: number; k: number; n: number } {
  const k = w.shape[0]!, n = w.shape[1]!;
  const ok = x.dtype === "float32" && w.dtype === "float32" && (!bias || bias.dtype === "float32") && w.shape.length === 2 &&
    x.shape.length >= 1 && x.shape[x.shape.length - 1] === k && (!bias || (bias.shape.length === 1 && bias.shape[0] === n));
  if (!ok || k === 0 || n === 0) {
    throw new Error(`${name}: x [${x.shape}], w [${w.shape}]${bias ? ` and bias [${bias.shape}]` : ""} must be float32 [..., in], [in, out] and [out] with in, out > 0`);
  }
  return { rows: sizeOf(x.shape) / k, k, n };
}

/** x·w + bias: one GEMM, the bias in its epilogue. */
function product(backend: NativeBackend, x: tf.TensorInfo, w: tf.TensorInfo, bias: tf.TensorInfo | undefined, rows: number, k: number, n: number): tf.TensorInfo {
  const y = backend.alloc(rows * n, "float32");
  backend.addon.matmul(y, backend.values(x), backend.values(w), bias ? backend.values(bias) : null, 1, 1, rows, n, k, 0, 0, 0, 0);
  return backend.output(y, [...x.shape.slice(0, -1), n], "float32");
}

/** y = x·w + bias. */
export const linear = nativeKernel(LINEAR, ({ x, w, bias }, backend) => {
  const { rows, k, n } = dims(LINEAR, x!, w!, bias);
  return product(backend, x!, w!, bias, rows, k, n);
});

/**
 * Whether the gradient runs as one sweep over the rows (dx, dw and dbias from each block of rows
 * while it is in cache) rather than two GEMMs and a column sum, each its own pass over dy and its
 * own fork and join: for layers at most 64 wide each way (native/src/linear.cc has the numbers).
 * Wider layers stay on the GEMMs, which run near the FMA rate.
 */
export function sweepsRows(k: number, n: number): boolean {
  return k <= 64 && n <= 64;
}

/** dy's values after checking it holds rows × n floats. */
function upstream(name: string, backend: NativeBackend, dy: tf.TensorInfo, rows: number, n: number): Float32Array {
  if (dy.dtype !== "float32" || sizeOf(dy.shape) !== rows * n) throw new Error(`${name}: dy [${dy.shape}] must be float32 with ${rows}×${n} elements`);
  return backend.values(dy);
}

/**
 * dw = xᵀ·dy and, with a bias, dbias = Σ_rows dy: the same bits `linearGrad` gives (the row sweep
 * without its dx for narrow layers, else a GEMM and a column sum).
 */
function parameterGradients(backend: NativeBackend, x: Float32Array, w: Float32Array, g: Float32Array, rows: number, k: number, n: number, hasBias: unknown): {
  dw: tf.TensorInfo;
  dbias: tf.TensorInfo | null;
} {
  const dw = backend.alloc(k * n, "float32");
  const dbias = hasBias ? backend.alloc(n, "float32") : null;
  if (sweepsRows(k, n)) {
    backend.addon.linearGrad(null, dw, dbias, g, x, w, rows, k, n);
  } else {
    backend.addon.matmul(dw, x, g, null, 1, 1, k, n, rows, 1, 0, 0, 0);
    if (dbias) backend.addon.reduce(REDUCE_OP.sum, dbias, g, 1, rows, n);
  }
  return { dw: backend.output(dw, [k, n], "float32"), dbias: dbias ? backend.output(dbias, [n], "float32") : null };
}

/** dx = dy·wᵀ, dw = xᵀ·dy and (when the forward had a bias) dbias = Σ_rows dy. */
export const linearGrad = nativeKernel(LINEAR_GRAD, ({ dy, x, w }, backend, attrs) => {
  const { rows, k, n } = dims(LINEAR_GRAD, x!, w!);
  const g = upstream(LINEAR_GRAD, backend, dy!, rows, n);
  const dx = backend.alloc(rows * k, "float32");
  if (sweepsRows(k, n)) {
    const dw = backend.alloc(k * n, "float32");
    const dbias = attrs.hasBias ? backend.alloc(n, "float32") : null;
    backend.addon.linearGrad(dx, dw, dbias, g, backend.values(x!), backend.values(w!), rows, k, n);
    const out = [backend.output(dx, x!.shape.slice(), "float32"), backend.output(dw, [k, n], "float32")];
    return dbias ? [...out, backend.output(dbias, [n], "float32")] : out;
  }
  backend.addon.matmul(dx, g, backend.values(w!), null, 1, 1, rows, k, n, 0, 1, 0, 0);
  const { dw, dbias } = parameterGradients(backend, backend.values(x!), backend.values(w!), g, rows, k, n, attrs.hasBias);
  return [backend.output(dx, x!.shape.slice(), "float32"), dw, ...(dbias ? [dbias] : [])];
});

/** y1 = x·w1 + bias1 and y2 = x·w2 + bias2 (linearPair): `linear`'s product for each. */
export const linearPair = nativeKernel(LINEAR_PAIR, ({ x, w1, bias1, w2, bias2 }, backend) => {
  const one = dims(LINEAR_PAIR, x!, w1!, bias1), two = dims(LINEAR_PAIR, x!, w2!, bias2);
  return [product(backend, x!, w1!, bias1, one.rows, one.k, one.n), product(backend, x!, w2!, bias2, two.rows, two.k, two.n)];
});

/**
 * dx = dy1·w1ᵀ + dy2·w2ᵀ as one sum of products (matmulSum: dx written once), then each layer's
 * weight and bias gradients as `linearGrad` computes them. Outputs [dx, dw1, dw2, dbias1?, dbias2?].
 */
export const linearPairGrad = nativeKernel(LINEAR_PAIR_GRAD, ({ dy1, dy2, x, w1, w2 }, backend, attrs) => {
  const one = dims(LINEAR_PAIR_GRAD, x!, w1!), two = dims(LINEAR_PAIR_GRAD, x!, w2!);
  const { rows, k } = one;
  const g1 = upstream(LINEAR_PAIR_GRAD, backend, dy1!, rows, one.n), g2 = upstream(LINEAR_PAIR_GRAD, backend, dy2!, rows, two.n);
  const dx = backend.alloc(rows * k, "float32");
  backend.addon.matmulSum(dx, rows, k, 0, 1, g1, backend.values(w1!), one.n, g2, backend.values(w2!), two.n);
  const xv = backend.values(x!);
  const first = parameterGradients(backend, xv, backend.values(w1!), g1, rows, k, one.n, attrs.hasBias1);
  const second = parameterGradients(backend, xv, backend.values(w2!), g2, rows, k, two.n, attrs.hasBias2);
  return [backend.output(dx, x!.shape.slice(), "float32"), first.dw, second.dw, ...[first.dbias, second.dbias].filter((t) => t !== null)];
});

export const linearKernels: tf.KernelConfig[] = [linear, linearGrad, linearPair, linearPairGrad];
