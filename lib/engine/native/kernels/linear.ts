/**
 * The dense layer (lib/engine/fused/linear.ts) as one kernel each way: its GEMMs through the
 * addon's `matmul` (the same entry and routing as MatMul), its bias gradient through the addon's
 * `reduce` as the Sum kernel runs an axis-0 sum.
 */
import { tf } from "../../tf.js";
import { LINEAR, LINEAR_GRAD, LINEAR_PAIR, LINEAR_PAIR_GRAD } from "../../fused/names.js";
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

/** dx = dy·wᵀ, dw = xᵀ·dy and (when the forward had a bias) dbias = Σ_rows dy. */
export const linearGrad = nativeKernel(LINEAR_GRAD, ({ dy, x, w }, backend, attrs) => {
  const { rows, k, n } = dims(LINEAR_GRAD, x!, w!);
  if (dy!.dtype !== "float32" || sizeOf(dy!.shape) !== rows * n) throw new Error(`${LINEAR_GRAD}: dy [${dy!.shape}] must be float32 with ${rows}×${n} elements`);
  const g = backend.values(dy!);
  const dx = backend.alloc(rows * k, "float32");
  backend.addon.matmul(dx, g, backend.values(w!), null, 1, 1, rows, k, n, 0, 1, 0, 0);
  const dw = backend.alloc(k * n, "float32");
  backend.addon.matmul(dw, backend.values(x!), g, null, 1, 1, k, n, rows, 1, 0, 0, 0);
  const out = [backend.output(dx, x!.shape.slice(), "float32"), backend.output(dw, [k, n], "float32")];
  if (attrs.hasBias) {
    const dbias = backend.alloc(n, "float32");
    backend.addon.reduce(REDUCE_OP.sum, dbias, g, 1, rows, n);
    out.push(backend.output(dbias, [n], "float32"));
  }
  return out;
});

/** y1 = x·w1 + bias1 and y2 = x·w2 + bias2 (linearPair): the two GEMMs of `linear`. */
export const linearPair = nativeKernel(LINEAR_PAIR, ({ x, w1, bias1, w2, bias2 }, backend) => {
  const one = dims(LINEAR_PAIR, x!, w1!, bias1), two = dims(LINEAR_PAIR, x!, w2!, bias2);
  const xv = backend.values(x!);
  return [[w1!, bias1, one.n], [w2!, bias2, two.n]].map(([w, bias, n]) => {
    const y = backend.alloc(one.rows * (n as number), "float32");
    backend.addon.matmul(y, xv, backend.values(w as tf.TensorInfo), bias ? backend.values(bias as tf.TensorInfo) : null, 1, 1, one.rows,
      n as number, one.k, 0, 0, 0, 0);
    return backend.output(y, [...x!.shape.slice(0, -1), n as number], "float32");
  });
});

/**
 * dx = dy1·w1ᵀ + dy2·w2ᵀ as one sum of products (matmulSum: dx written once), then dw1, dw2 and
 * the biases' gradients as `linearGrad` computes them. Outputs [dx, dw1, dw2, dbias1?, dbias2?].
 */
export const linearPairGrad = nativeKernel(LINEAR_PAIR_GRAD, ({ dy1, dy2, x, w1, w2 }, backend, attrs) => {
  const one = dims(LINEAR_PAIR_GRAD, x!, w1!), two = dims(LINEAR_PAIR_GRAD, x!, w2!);
  const { rows, k } = one;
  for (const [dy, n] of [[dy1!, one.n], [dy2!, two.n]] as const) {
    if (dy.dtype !== "float32" || sizeOf(dy.shape) !== rows * n) throw new Error(`${LINEAR_PAIR_GRAD}: dy [${dy.shape}] must be float32 with ${rows}×${n} elements`);
  }
  const g1 = backend.values(dy1!), g2 = backend.values(dy2!), xv = backend.values(x!);
  const dx = backend.alloc(rows * k, "float32");
  backend.addon.matmulSum(dx, rows, k, 0, 1, g1, backend.values(w1!), one.n, g2, backend.values(w2!), two.n);
  const out = [backend.output(dx, x!.shape.slice(), "float32")];
  for (const [g, n] of [[g1, one.n], [g2, two.n]] as const) {
    const dw = backend.alloc(k * n, "float32");
    backend.addon.matmul(dw, xv, g, null, 1, 1, k, n, rows, 1, 0, 0, 0);
    out.push(backend.output(dw, [k, n], "float32"));
  }
  for (const [g, n, has] of [[g1, one.n, attrs.hasBias1], [g2, two.n, attrs.hasBias2]] as const) {
    if (!has) continue;
    const dbias = backend.alloc(n, "float32");
    backend.addon.reduce(REDUCE_OP.sum, dbias, g, 1, rows, n);
    out.push(backend.output(dbias, [n], "float32"));
  }
  return out;
});

export const linearKernels: tf.KernelConfig[] = [linear, linearGrad, linearPair, linearPairGrad];
