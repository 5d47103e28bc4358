/**
 * The dense layer (lib/engine/fused/linear.ts) as one kernel each way: its GEMMs through the
 * addon's `matmul` (the same entry and routing as MatMul), its bias gradient through the addon's
 * `reduce` as the Sum kernel runs an axis-0 sum — or, for narrow layers, the whole gradient in
 * one sweep over the rows (the addon's `linearGrad`).
 */
import { tf } from "../../tf.js";
import { LINEAR, LINEAR_GRAD } from "../../fused/names.js";
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

/** y = x·w + bias: one GEMM, the bias in its epilogue. */
export const linear = nativeKernel(LINEAR, ({ x, w, bias }, backend) => {
  const { rows, k, n } = dims(LINEAR, x!, w!, bias);
  const y = backend.alloc(rows * n, "float32");
  backend.addon.matmul(y, backend.values(x!), backend.values(w!), bias ? backend.values(bias) : null, 1, 1, rows, n, k, 0, 0, 0, 0);
  return backend.output(y, [...x!.shape.slice(0, -1), n], "float32");
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

/** dx = dy·wᵀ, dw = xᵀ·dy and (when the forward had a bias) dbias = Σ_rows dy. */
export const linearGrad = nativeKernel(LINEAR_GRAD, ({ dy, x, w }, backend, attrs) => {
  const { rows, k, n } = dims(LINEAR_GRAD, x!, w!);
  if (dy!.dtype !== "float32" || sizeOf(dy!.shape) !== rows * n) throw new Error(`${LINEAR_GRAD}: dy [${dy!.shape}] must be float32 with ${rows}×${n} elements`);
  const g = backend.values(dy!);
  const dx = backend.alloc(rows * k, "float32");
  const dw = backend.alloc(k * n, "float32");
  const dbias = attrs.hasBias ? backend.alloc(n, "float32") : null;
  if (sweepsRows(k, n)) {
    backend.addon.linearGrad(dx, dw, dbias, g, backend.values(x!), backend.values(w!), rows, k, n);
  } else {
    backend.addon.matmul(dx, g, backend.values(w!), null, 1, 1, rows, k, n, 0, 1, 0, 0);
    backend.addon.matmul(dw, backend.values(x!), g, null, 1, 1, k, n, rows, 1, 0, 0, 0);
    if (dbias) backend.addon.reduce(REDUCE_OP.sum, dbias, g, 1, rows, n);
  }
  const out = [backend.output(dx, x!.shape.slice(), "float32"), backend.output(dw, [k, n], "float32")];
  if (dbias) out.push(backend.output(dbias, [n], "float32"));
  return out;
});

export const linearKernels: tf.KernelConfig[] = [linear, linearGrad];
