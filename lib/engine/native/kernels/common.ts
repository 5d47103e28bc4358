/** Shared plumbing for the native kernels. */
import { tf } from "../../tf.js";
import type { NativeBackend } from "../backend.js";

export type Inputs = Record<string, tf.TensorInfo | undefined>;
export type Attrs = Record<string, unknown>;
/** A native implementation; `undefined` means "not this case": the cpu kernel runs instead. */
export type NativeImpl = (inputs: Inputs, backend: NativeBackend, attrs: Attrs) => tf.TensorInfo | tf.TensorInfo[] | undefined;

export const BACKEND_NAME = "native";

/**
 * A kernel config for the native backend: `impl` handles the cases it supports (float32, NHWC, …)
 * and the cpu backend's kernel of the same name handles the rest, on the same storage.
 */
export function nativeKernel(kernelName: string, impl: NativeImpl): tf.KernelConfig {
  const cpu = tf.getKernel(kernelName, "cpu");
  return {
    kernelName,
    backendName: BACKEND_NAME,
    kernelFunc: (args) => {
      const backend = args.backend as NativeBackend;
      const result = impl(args.inputs as Inputs, backend, (args.attrs ?? {}) as Attrs);
      if (result !== undefined) return result;
      if (!cpu) throw new Error(`${kernelName}: this case has no native kernel and the cpu backend has none either`);
      return cpu.kernelFunc(args);
    },
  };
}

/** The `heads` attribute of the multi-head fused kernels (lib/engine/fused/heads.ts): 1 when absent. */
export const headsAttr = (attrs: Attrs): number => (attrs.heads as number | undefined) ?? 1;

/** Row-major element strides of `shape` (all of them, unlike tf.util.computeStrides). */
export function stridesOf(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = s;
    s *= shape[d]!;
  }
  return out;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Strides reading an operand of `shape` broadcast to `outShape` (0 along broadcast axes). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = stridesOf(shape);
  const offset = outShape.length - shape.length;
  return outShape.map((_, d) => {
    const k = d - offset;
    return k < 0 || shape[k] === 1 ? 0 : own[k]!;
  });
}

export const i32 = (values: readonly number[]): Int32Array => Int32Array.from(values);

/** Normalises negative axes. */
export function axisOf(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Copies `x` (with `shape` and arbitrary element strides and offset) into a new contiguous tensor. */
export function stridedCopy(
  backend: NativeBackend,
  x: tf.TensorInfo,
  outShape: number[],
  inStrides: number[],
  inOffset: number,
): tf.TensorInfo {
  const dtype = x.dtype as "float32" | "int32" | "bool";
  const out = backend.alloc(sizeOf(outShape), dtype);
  if (out.length > 0) {
    backend.addon.copyStrided(out, backend.values(x), i32(outShape), i32(stridesOf(outShape)), i32(inStrides), 0, inOffset);
  }
  return backend.output(out, outShape, dtype);
}

/** float32, int32 and bool live in typed arrays the addon reads; complex64 and string do not. */
export function isNumeric(dtype: tf.DataType): dtype is "float32" | "int32" | "bool" {
  return dtype === "float32" || dtype === "int32" || dtype === "bool";
}
