/** Native kernels of the fused cluster-center ops (lib/engine/fused/centers.ts), forward and backward. */
import type { tf } from "../../tf.js";
import { GATED_MIX, GATED_MIX_GRAD, TEMPERED_NORMALIZE, TEMPERED_NORMALIZE_GRAD } from "../../fused/names.js";
import { headsAttr, nativeKernel, sizeOf } from "./common.js";

const floorAttr = (attrs: Record<string, unknown>) => attrs.minLogTemperature as number;

/** Rows of d, and the output shape: x's, or (heads > 1, x channels-last rows [B, M, heads·d]) the groups [heads·B, M, d]. */
function temperedShape(x: tf.TensorInfo, heads: number) {
  const shape = x.shape;
  const cols = shape[shape.length - 1]! / heads;
  const out = heads > 1 ? [heads * shape[0]!, shape[1]!, cols] : shape;
  return { cols, rows: sizeOf(shape) / cols, out };
}

export const temperedNormalize = nativeKernel(TEMPERED_NORMALIZE, ({ x, logTemperature }, backend, attrs) => {
  const heads = headsAttr(attrs);
  const { cols, rows, out } = temperedShape(x!, heads);
  const y = backend.alloc(rows * cols, "float32");
  backend.addon.temperedNormalize(y, backend.values(x!), backend.values(logTemperature!), rows, cols, floorAttr(attrs), heads);
  return backend.output(y, out, "float32");
});

export const temperedNormalizeGrad = nativeKernel(TEMPERED_NORMALIZE_GRAD, ({ dy, x, logTemperature }, backend, attrs) => {
  const heads = headsAttr(attrs);
  const { cols, rows } = temperedShape(x!, heads);
  const dx = backend.alloc(rows * cols, "float32");
  const dt = backend.alloc(1, "float32");
  backend.addon.temperedNormalizeGrad(dx, dt, backend.values(dy!), backend.values(x!), backend.values(logTemperature!), rows, cols,
    floorAttr(attrs), heads);
  return [backend.output(dx, x!.shape, "float32"), backend.output(dt, [], "float32")];
});

/** heads, rows per head, d, hidden of a gated mix. */
function mixShape(a: tf.TensorInfo, w1: tf.TensorInfo): [number, number, number, number] {
  const [g, m, d] = a.shape as [number, number, number];
  const [heads, , hidden] = w1.shape as [number, number, number];
  return [heads, (g / heads) * m, d, hidden];
}

/** p as channels-last rows (attribute pRows, lib/engine/fused/centers.ts). */
const pRowsAttr = (attrs: Record<string, unknown>) => (attrs.pRows ? 1 : 0);

export const gatedMix = nativeKernel(GATED_MIX, ({ a, p, w1, b1, w2, b2 }, backend, attrs) => {
  const out = backend.alloc(sizeOf(a!.shape), "float32");
  backend.addon.gatedMix(out, backend.values(a!), backend.values(p!), backend.values(w1!), backend.values(b1!), backend.values(w2!),
    backend.values(b2!), ...mixShape(a!, w1!), pRowsAttr(attrs));
  return backend.output(out, a!.shape, "float32");
});

export const gatedMixGrad = nativeKernel(GATED_MIX_GRAD, ({ dy, a, p, w1, b1, w2, b2 }, backend, attrs) => {
  const outs = [a!, p!, w1!, b1!, w2!, b2!].map((t) => backend.alloc(sizeOf(t.shape), "float32")) as Float32Array[];
  backend.addon.gatedMixGrad(outs[0]!, outs[1]!, outs[2]!, outs[3]!, outs[4]!, outs[5]!, backend.values(dy!), backend.values(a!),
    backend.values(p!), backend.values(w1!), backend.values(b1!), backend.values(w2!), backend.values(b2!), ...mixShape(a!, w1!), pRowsAttr(attrs));
  return [a!, p!, w1!, b1!, w2!, b2!].map((t, i) => backend.output(outs[i]!, t.shape, "float32"));
});

export const centerKernels: tf.KernelConfig[] = [temperedNormalize, temperedNormalizeGrad, gatedMix, gatedMixGrad];
