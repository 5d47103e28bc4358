/** Native kernels of the fused cluster-center ops (lib/engine/fused/centers.ts), forward and backward. */
import type { tf } from "../../tf.js";
import { GATED_MIX, GATED_MIX_GRAD, TEMPERED_NORMALIZE, TEMPERED_NORMALIZE_GRAD } from "../../fused/names.js";
import { nativeKernel, sizeOf } from "./common.js";

const floorAttr = (attrs: Record<string, unknown>) => attrs.minLogTemperature as number;

export const temperedNormalize = nativeKernel(TEMPERED_NORMALIZE, ({ x, logTemperature }, backend, attrs) => {
  const cols = x!.shape[x!.shape.length - 1]!;
  const size = sizeOf(x!.shape);
  const y = backend.alloc(size, "float32");
  backend.addon.temperedNormalize(y, backend.values(x!), backend.values(logTemperature!), size / cols, cols, floorAttr(attrs));
  return backend.output(y, x!.shape, "float32");
});

export const temperedNormalizeGrad = nativeKernel(TEMPERED_NORMALIZE_GRAD, ({ dy, x, logTemperature }, backend, attrs) => {
  const cols = x!.shape[x!.shape.length - 1]!;
  const size = sizeOf(x!.shape);
  const dx = backend.alloc(size, "float32");
  const dt = backend.alloc(1, "float32");
  backend.addon.temperedNormalizeGrad(dx, dt, backend.values(dy!), backend.values(x!), backend.values(logTemperature!), size / cols, cols,
    floorAttr(attrs));
  return [backend.output(dx, x!.shape, "float32"), backend.output(dt, [], "float32")];
});

/** heads, rows per head, d, hidden of a gated mix. */
function mixShape(a: tf.TensorInfo, w1: tf.TensorInfo): [number, number, number, number] {
  const [g, m, d] = a.shape as [number, number, number];
  const [heads, , hidden] = w1.shape as [number, number, number];
  return [heads, (g / heads) * m, d, hidden];
}

export const gatedMix = nativeKernel(GATED_MIX, ({ a, p, w1, b1, w2, b2 }, backend) => {
  const out = backend.alloc(sizeOf(a!.shape), "float32");
  backend.addon.gatedMix(out, backend.values(a!), backend.values(p!), backend.values(w1!), backend.values(b1!), backend.values(w2!),
    backend.values(b2!), ...mixShape(a!, w1!));
  return backend.output(out, a!.shape, "float32");
});

export const gatedMixGrad = nativeKernel(GATED_MIX_GRAD, ({ dy, a, p, w1, b1, w2, b2 }, backend) => {
  const outs = [a!, p!, w1!, b1!, w2!, b2!].map((t) => backend.alloc(sizeOf(t.shape), "float32")) as Float32Array[];
  backend.addon.gatedMixGrad(outs[0]!, outs[1]!, outs[2]!, outs[3]!, outs[4]!, outs[5]!, backend.values(dy!), backend.values(a!),
    backend.values(p!), backend.values(w1!), backend.values(b1!), backend.values(w2!), backend.values(b2!), ...mixShape(a!, w1!));
  return [a!, p!, w1!, b1!, w2!, b2!].map((t, i) => backend.output(outs[i]!, t.shape, "float32"));
});

export const centerKernels: tf.KernelConfig[] = [temperedNormalize, temperedNormalizeGrad, gatedMix, gatedMixGrad];
