/**
 * Helpers to build backend kernels out of other, already fast kernels of the same backend.
 *
 * A composed kernel receives TensorInfos, wraps them as tensors (each holding its own backend
 * reference, so disposing the wrapper never frees the caller's data), runs ordinary ops inside
 * `tidy`, and hands the result's buffer to the engine as the kernel output. Ops called inside a
 * kernel are not recorded on the gradient tape (the engine records only at kernel depth 0).
 */
import { tf } from "./tf.js";

type KernelFn = (inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) => tf.Tensor;

/** A kernel config for `backendName` computing `fn` from other ops. */
export function composedKernel(kernelName: string, backendName: string, fn: KernelFn): tf.KernelConfig {
  return {
    kernelName,
    backendName,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const engine = tf.engine();
      const owner = backend as tf.KernelBackend;
      const result = tf.tidy(() => {
        const wrapped: Record<string, tf.Tensor> = {};
        for (const [key, info] of Object.entries(inputs as Record<string, tf.TensorInfo>)) {
          wrapped[key] = engine.makeTensorFromTensorInfo(info, owner);
          owner.incRef(info.dataId);
        }
        return fn(wrapped, attrs as Record<string, unknown>);
      });
      // Give the result's buffer one extra reference, then drop the tensor: the engine wraps the
      // returned TensorInfo into the kernel's output tensor, which owns that reference.
      owner.incRef(result.dataId);
      const out: tf.TensorInfo = { dataId: result.dataId, shape: result.shape, dtype: result.dtype };
      result.dispose();
      return out;
    },
  };
}

/** Explicit [before, after] paddings per spatial side; a negative amount crops instead. */
export function padOrCrop4d(
  x: tf.Tensor4D,
  top: number,
  bottom: number,
  left: number,
  right: number,
  value = 0,
): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const cropped =
    top < 0 || bottom < 0 || left < 0 || right < 0
      ? tf.slice(
          x,
          [0, Math.max(0, -top), Math.max(0, -left), 0],
          [b, h - Math.max(0, -top) - Math.max(0, -bottom), w - Math.max(0, -left) - Math.max(0, -right), c],
        )
      : x;
  const pads: Array<[number, number]> = [
    [0, 0],
    [Math.max(0, top), Math.max(0, bottom)],
    [Math.max(0, left), Math.max(0, right)],
    [0, 0],
  ];
  return pads.every(([a, z]) => a === 0 && z === 0) ? cropped : tf.pad(cropped, pads, value);
}

/**
 * Inserts `sh - 1` zero rows between rows and `sw - 1` zero columns between columns:
 * [B,H,W,C] → [B,(H-1)·sh+1,(W-1)·sw+1,C]. Turns a strided scatter into a dense layout.
 */
export function dilateSpatial(x: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return x;
  const [b, h, w, c] = x.shape;
  const spaced = tf.pad(tf.reshape(x, [b, h, 1, w, 1, c]), [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  const dense = tf.reshape(spaced, [b, h * sh, w * sw, c]) as tf.Tensor4D;
  return tf.slice(dense, [0, 0, 0, 0], [b, (h - 1) * sh + 1, (w - 1) * sw + 1, c]);
}

/** Reads the NHWC layout the composed conv kernels support; NCHW is rejected with a clear message. */
export function assertNHWC(kernelName: string, dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== "NHWC" && dataFormat !== "channelsLast") {
    throw new Error(`${kernelName} on wasm supports the NHWC layout only, got ${String(dataFormat)}`);
  }
}
