/** Native kernels of cluelab's fused ops (lib/engine/fused): layer norm and GELU, forward and backward. */
import type { tf } from "../../tf.js";
import { GELU, GELU_GRAD, LAYER_NORM, LAYER_NORM_GRAD } from "../../fused/names.js";
import { nativeKernel, sizeOf } from "./common.js";

const floats = (...ts: Array<tf.TensorInfo | undefined>) => ts.every((t) => t !== undefined && t.dtype === "float32");

export const layerNorm = nativeKernel(LAYER_NORM, ({ x, gamma, beta }, backend, attrs) => {
  if (!floats(x, gamma, beta)) throw new Error(`${LAYER_NORM}: x, gamma and beta must be float32`);
  const cols = x!.shape[x!.shape.length - 1]!;
  const rows = sizeOf(x!.shape) / cols;
  const y = backend.alloc(rows * cols, "float32");
  const mean = backend.alloc(rows, "float32");
  const rstd = backend.alloc(rows, "float32");
  backend.addon.layerNorm(y, mean, rstd, backend.values(x!), backend.values(gamma!), backend.values(beta!), rows, cols, Number(attrs.epsilon));
  const statsShape = [...x!.shape.slice(0, -1), 1];
  return [backend.output(y, x!.shape.slice(), "float32"), backend.output(mean, statsShape, "float32"), backend.output(rstd, statsShape.slice(), "float32")];
});

export const layerNormGrad = nativeKernel(LAYER_NORM_GRAD, ({ dy, x, gamma, mean, rstd }, backend) => {
  const cols = x!.shape[x!.shape.length - 1]!;
  const rows = sizeOf(x!.shape) / cols;
  const dx = backend.alloc(rows * cols, "float32");
  const dgamma = backend.alloc(cols, "float32");
  const dbeta = backend.alloc(cols, "float32");
  backend.addon.layerNormGrad(dx, dgamma, dbeta, backend.values(dy!), backend.values(x!), backend.values(gamma!), backend.values(mean!), backend.values(rstd!), rows, cols);
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

export const fusedKernels: tf.KernelConfig[] = [layerNorm, layerNormGrad, gelu, geluGrad];
