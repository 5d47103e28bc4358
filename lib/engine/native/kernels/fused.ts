/** Native kernels of cluelab's fused ops (lib/engine/fused), forward and backward. */
import type { tf } from "../../tf.js";
import {
  ADAMW, CLUSTER_MEAN, CLUSTER_MEAN_GRAD, GELU, GELU_GRAD, L2_NORMALIZE, L2_NORMALIZE_GRAD, LAYER_NORM, LAYER_NORM_GRAD, LAYER_NORM_TEE,
  NEAREST_CENTER,
  RESIDUAL, RESIDUAL_GRAD, RESIDUAL_SCALED,
} from "../../fused/names.js";
import type { NativeBackend } from "../backend.js";
import { nativeKernel, sizeOf, type Attrs, type Inputs } from "./common.js";

const floats = (...ts: Array<tf.TensorInfo | undefined>) => ts.every((t) => t !== undefined && t.dtype === "float32");

/** [y, mean, rstd] of a layer norm over x's last axis. */
function layerNormOutputs(name: string, inputs: Inputs, backend: NativeBackend, attrs: Attrs): tf.TensorInfo[] {
  const { x, gamma, beta } = inputs;
  if (!floats(x, gamma, beta)) throw new Error(`${name}: x, gamma and beta must be float32`);
  const cols = x!.shape[x!.shape.length - 1]!;
  const rows = sizeOf(x!.shape) / cols;
  const y = backend.alloc(rows * cols, "float32");
  const mean = backend.alloc(rows, "float32");
  const rstd = backend.alloc(rows, "float32");
  backend.addon.layerNorm(y, mean, rstd, backend.values(x!), backend.values(gamma!), backend.values(beta!), rows, cols, Number(attrs.epsilon));
  const statsShape = [...x!.shape.slice(0, -1), 1];
  return [backend.output(y, x!.shape.slice(), "float32"), backend.output(mean, statsShape, "float32"), backend.output(rstd, statsShape.slice(), "float32")];
}

export const layerNorm = nativeKernel(LAYER_NORM, (inputs, backend, attrs) => layerNormOutputs(LAYER_NORM, inputs, backend, attrs));

/** [x, y, mean, rstd]: x passed through as a second reference to its storage (no copy), then layerNorm's outputs. */
export const layerNormTee = nativeKernel(LAYER_NORM_TEE, (inputs, backend, attrs) => {
  const outputs = layerNormOutputs(LAYER_NORM_TEE, inputs, backend, attrs);
  const x = inputs.x!;
  backend.incRef(x.dataId);
  return [{ dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype }, ...outputs];
});

/** dx (plus `dskip` when given: layerNormTee's pass-through gradient), dgamma, dbeta. */
export const layerNormGrad = nativeKernel(LAYER_NORM_GRAD, ({ dy, x, gamma, mean, rstd, dskip }, backend) => {
  const cols = x!.shape[x!.shape.length - 1]!;
  const rows = sizeOf(x!.shape) / cols;
  if (dskip && (dskip.dtype !== "float32" || sizeOf(dskip.shape) !== rows * cols)) {
    throw new Error(`${LAYER_NORM_GRAD}: dskip [${dskip.shape}] must be float32 with the ${rows}×${cols} elements of x`);
  }
  const dx = backend.alloc(rows * cols, "float32");
  const dgamma = backend.alloc(cols, "float32");
  const dbeta = backend.alloc(cols, "float32");
  backend.addon.layerNormGrad(dx, dgamma, dbeta, backend.values(dy!), backend.values(x!), backend.values(gamma!), backend.values(mean!), backend.values(rstd!), rows, cols,
    dskip ? backend.values(dskip) : null);
  return [backend.output(dx, x!.shape.slice(), "float32"), backend.output(dgamma, [cols], "float32"), backend.output(dbeta, [cols], "float32")];
});

export const gelu = nativeKernel(GELU, ({ x }, backend) => {
  if (!floats(x)) throw new Error(`${GELU}: x must be float32`);
  const y = backend.alloc(sizeOf(x!.shape), "float32");
  backend.addon.gelu(y, backend.values(x!));
  return backend.output(y, x!.shape.slice(), "float32");
});

export const geluGrad = nativeKernel(GELU_GRAD, ({ dy, x }, backend) => {
  const dx = backend.alloc(sizeOf(x!.shape), "float32");
  backend.addon.geluGrad(dx, backend.values(dy!), backend.values(x!));
  return backend.output(dx, x!.shape.slice(), "float32");
});

export const l2Normalize = nativeKernel(L2_NORMALIZE, ({ x }, backend, attrs) => {
  if (!floats(x)) throw new Error(`${L2_NORMALIZE}: x must be float32`);
  const cols = x!.shape[x!.shape.length - 1]!;
  const y = backend.alloc(sizeOf(x!.shape), "float32");
  backend.addon.l2Normalize(y, backend.values(x!), sizeOf(x!.shape) / cols, cols, Number(attrs.epsilon));
  return backend.output(y, x!.shape.slice(), "float32");
});

export const l2NormalizeGrad = nativeKernel(L2_NORMALIZE_GRAD, ({ dy, x }, backend, attrs) => {
  const cols = x!.shape[x!.shape.length - 1]!;
  const dx = backend.alloc(sizeOf(x!.shape), "float32");
  backend.addon.l2NormalizeGrad(dx, backend.values(dy!), backend.values(x!), sizeOf(x!.shape) / cols, cols, Number(attrs.epsilon));
  return backend.output(dx, x!.shape.slice(), "float32");
});

export const nearestCenter = nativeKernel(NEAREST_CENTER, ({ x, centers }, backend) => {
  if (!floats(x, centers)) throw new Error(`${NEAREST_CENTER}: x and centers must be float32`);
  const [g, n, d] = x!.shape as [number, number, number];
  const m = centers!.shape[1]!;
  const index = backend.alloc(g * n, "int32");
  backend.addon.nearestCenter(index, backend.values(x!), backend.values(centers!), g, n, m, d);
  return backend.output(index, [g, n], "int32");
});

export const clusterMean = nativeKernel(CLUSTER_MEAN, ({ index, values, centers }, backend) => {
  if (!floats(values, centers)) throw new Error(`${CLUSTER_MEAN}: values and centers must be float32`);
  const [g, n, d] = values!.shape as [number, number, number];
  const m = centers!.shape[1]!;
  const out = backend.alloc(g * m * d, "float32");
  const counts = backend.alloc(g * m, "float32");
  backend.addon.clusterMean(out, counts, backend.values<Int32Array>(index!), backend.values(values!), backend.values(centers!), g, n, m, d);
  return [backend.output(out, [g, m, d], "float32"), backend.output(counts, [g, m], "float32")];
});

export const clusterMeanGrad = nativeKernel(CLUSTER_MEAN_GRAD, ({ dy, index, counts }, backend) => {
  const [g, m, d] = dy!.shape as [number, number, number];
  const n = index!.shape[1]!;
  const dValues = backend.alloc(g * n * d, "float32");
  const dCenters = backend.alloc(g * m * d, "float32");
  backend.addon.clusterMeanGrad(dValues, dCenters, backend.values(dy!), backend.values<Int32Array>(index!), backend.values(counts!), g, n, m, d);
  return [backend.output(dValues, [g, n, d], "float32"), backend.output(dCenters, [g, m, d], "float32")];
});

export const adamw = nativeKernel(ADAMW, ({ param, grad, m, v }, backend, attrs) => {
  if (!floats(param, grad, m, v)) throw new Error(`${ADAMW}: param, grad and both moments must be float32`);
  const size = sizeOf(param!.shape);
  const p1 = backend.alloc(size, "float32"), m1 = backend.alloc(size, "float32"), v1 = backend.alloc(size, "float32");
  const a = attrs as Record<string, number>;
  backend.addon.adamw(p1, m1, v1, backend.values(param!), backend.values(grad!), backend.values(m!), backend.values(v!), a.lr!, a.beta1!, a.beta2!, a.eps!, a.weightDecay!, a.step!);
  const shape = param!.shape;
  return [backend.output(p1, shape.slice(), "float32"), backend.output(m1, shape.slice(), "float32"), backend.output(v1, shape.slice(), "float32")];
});

/** Drop path's per-sample factors (an attribute: a constant of the op), or null for none. */
const maskOf = (attrs: Record<string, unknown>): Float32Array | null => {
  const mask = attrs.mask as number[] | undefined;
  return mask && mask.length > 0 ? Float32Array.from(mask) : null;
};

const residualImpl = (name: string) =>
  nativeKernel(name, ({ x, branch, scale }, backend, attrs) => {
    if (!floats(x, branch) || (scale && !floats(scale))) throw new Error(`${name}: x, branch and scale must be float32`);
    const shape = x!.shape;
    const y = backend.alloc(sizeOf(shape), "float32");
    backend.addon.residual(y, backend.values(x!), backend.values(branch!), scale ? backend.values(scale) : null, maskOf(attrs), shape[0]!,
      shape[shape.length - 1]!);
    return backend.output(y, shape.slice(), "float32");
  });

export const residual = residualImpl(RESIDUAL);
export const residualScaled = residualImpl(RESIDUAL_SCALED);

export const residualGrad = nativeKernel(RESIDUAL_GRAD, ({ dy, branch, scale }, backend, attrs) => {
  const shape = dy!.shape, cols = shape[shape.length - 1]!;
  const dbranch = backend.alloc(sizeOf(shape), "float32");
  const dscale = scale ? backend.alloc(cols, "float32") : null;
  backend.addon.residualGrad(dbranch, dscale, backend.values(dy!), branch ? backend.values(branch) : null, scale ? backend.values(scale) : null,
    maskOf(attrs), shape[0]!, cols);
  const out = [backend.output(dbranch, shape.slice(), "float32")];
  if (dscale) out.push(backend.output(dscale, [cols], "float32"));
  return out;
});

export const fusedKernels: tf.KernelConfig[] = [
  layerNorm, layerNormTee, layerNormGrad, gelu, geluGrad, l2Normalize, l2NormalizeGrad, nearestCenter, clusterMean, clusterMeanGrad, adamw,
  residual, residualScaled, residualGrad,
];
