/** Native kernels of the fused soft aggregation (lib/engine/fused/attention.ts), forward and backward. */
import type { tf } from "../../tf.js";
import { SOFT_AGGREGATE, SOFT_AGGREGATE_GRAD } from "../../fused/names.js";
import { headsAttr, nativeKernel, type Attrs } from "./common.js";

type Shape3 = [number, number, number];

/** The shape of the product, with `heads` (attribute, default 1) groups per row of k and v. */
function shapeOf(q: tf.TensorInfo, k: tf.TensorInfo, v: tf.TensorInfo, attrs: Attrs) {
  const heads = headsAttr(attrs);
  const [g, m, d] = q.shape as Shape3;
  return { g, m, n: k.shape[1]!, d, dv: v.shape[2]! / heads, heads };
}

export const softAggregate = nativeKernel(SOFT_AGGREGATE, ({ q, k, v }, backend, attrs) => {
  if (![q, k, v].every((t) => t?.dtype === "float32")) throw new Error(`${SOFT_AGGREGATE}: q, k and v must be float32`);
  const { g, m, n, d, dv, heads } = shapeOf(q!, k!, v!, attrs);
  const out = backend.alloc(g * m * dv, "float32");
  const stats = backend.alloc(g * 2 * m, "float32");
  backend.addon.softAggregate(out, stats, backend.values(q!), backend.values(k!), backend.values(v!), g, m, n, d, dv, heads);
  return [backend.output(out, [g, m, dv], "float32"), backend.output(stats, [g, 2, m], "float32")];
});

export const softAggregateGrad = nativeKernel(SOFT_AGGREGATE_GRAD, ({ dy, q, k, v, out, stats }, backend, attrs) => {
  const { g, m, n, d, dv, heads } = shapeOf(q!, k!, v!, attrs);
  const dq = backend.alloc(g * m * d, "float32");
  const dk = backend.alloc(g * n * d, "float32");
  const dvOut = backend.alloc(g * n * dv, "float32");
  backend.addon.softAggregateGrad(dq, dk, dvOut, backend.values(dy!), backend.values(q!), backend.values(k!), backend.values(v!),
    backend.values(out!), backend.values(stats!), g, m, n, d, dv, heads);
  return [backend.output(dq, [g, m, d], "float32"), backend.output(dk, k!.shape, "float32"), backend.output(dvOut, v!.shape, "float32")];
});

export const attentionKernels: tf.KernelConfig[] = [softAggregate, softAggregateGrad];
