/** Reductions (sum, mean, max, min, prod, argmax/argmin, all/any) and softmax. */
import { tf } from "../../tf.js";
import type { NativeBackend } from "../backend.js";
import { axisOf, nativeKernel, sizeOf, stridedCopy, stridesOf } from "./common.js";

/** The addon's ReduceOp codes (native/src/reduce.cc). */
export const REDUCE_OP = { sum: 0, mean: 1, max: 2, min: 3, prod: 4, argMax: 5, argMin: 6, all: 7, any: 8 } as const;
type Op = keyof typeof REDUCE_OP;

/**
 * Reduces `axes` of x. Contiguous axes are read in place as the middle of [outer, R, inner];
 * scattered ones are first moved innermost, as tfjs does.
 */
function reduceAxes(
  backend: NativeBackend,
  op: Op,
  x: tf.TensorInfo,
  axisAttr: number | number[],
  keepDims: boolean,
): tf.TensorInfo | undefined {
  const rank = x.shape.length;
  const axes = [...new Set(tf.util.parseAxisParam(axisAttr, x.shape))].sort((p, q) => p - q);
  const wanted = op === "all" || op === "any" ? "bool" : "float32";
  if (x.dtype !== wanted || sizeOf(x.shape) === 0) return undefined;
  const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
  if (axes.length === 0) {
    const copy = stridedCopy(backend, x, x.shape.slice(), stridesOf(x.shape), 0);
    return { ...copy, shape: outShape };
  }
  const contiguous = axes.every((a, i) => i === 0 || a === axes[i - 1]! + 1);
  let src = x;
  let outer: number, r: number, inner: number;
  if (contiguous) {
    outer = sizeOf(x.shape.slice(0, axes[0]));
    r = sizeOf(axes.map((a) => x.shape[a]!));
    inner = sizeOf(x.shape.slice(axes[axes.length - 1]! + 1));
  } else {
    const kept = [...Array(rank).keys()].filter((i) => !axes.includes(i));
    const perm = [...kept, ...axes];
    const strides = stridesOf(x.shape);
    src = stridedCopy(backend, x, perm.map((p) => x.shape[p]!), perm.map((p) => strides[p]!), 0);
    outer = sizeOf(kept.map((k) => x.shape[k]!));
    r = sizeOf(axes.map((a) => x.shape[a]!));
    inner = 1;
  }
  const outDtype = op === "argMax" || op === "argMin" ? "int32" : wanted;
  const out = backend.alloc(outer * inner, outDtype);
  backend.addon.reduce(REDUCE_OP[op], out, backend.values(src), outer, r, inner);
  if (src !== x) backend.disposeIntermediateTensorInfo(src);
  return backend.output(out, outShape, outDtype);
}

const reducer = (name: string, op: Op, axisKey = "axis") =>
  nativeKernel(name, ({ x }, backend, attrs) => reduceAxes(backend, op, x!, attrs[axisKey] as number | number[], Boolean(attrs.keepDims)));

const argReducer = (name: string, op: "argMax" | "argMin") =>
  nativeKernel(name, ({ x }, backend, attrs) => reduceAxes(backend, op, x!, [axisOf(Number(attrs.axis), x!.shape.length)], false));

export const softmax = nativeKernel("Softmax", ({ logits }, backend, attrs) => {
  const x = logits!;
  const rank = x.shape.length;
  const dim = axisOf(Number(attrs.dim ?? -1), rank);
  if (x.dtype !== "float32" || dim !== rank - 1 || sizeOf(x.shape) === 0) return undefined;
  const cols = x.shape[rank - 1]!;
  const out = backend.alloc(sizeOf(x.shape), "float32");
  backend.addon.softmax(out, backend.values(x), sizeOf(x.shape) / cols, cols);
  return backend.output(out, x.shape.slice(), "float32");
});

export const reduceKernels: tf.KernelConfig[] = [
  reducer("Sum", "sum"),
  reducer("Mean", "mean"),
  reducer("Max", "max", "reductionIndices"),
  reducer("Min", "min"),
  reducer("Prod", "prod"),
  reducer("All", "all"),
  reducer("Any", "any"),
  argReducer("ArgMax", "argMax"),
  argReducer("ArgMin", "argMin"),
  softmax,
];
