/**
 * Data movement and construction: transpose, slice, strided slice, pad, concat, pack/unpack,
 * split, tile, reverse (all one strided copy each), gather, one-hot, cast, fill, select, addN,
 * unsorted segment sum. Outputs are always fresh copies: a view of an input would pin its buffer.
 */
import { tf } from "../../tf.js";
import type { NativeBackend } from "../backend.js";
import { axisOf, i32, isNumeric, nativeKernel, sizeOf, stridedCopy, stridesOf, type Inputs } from "./common.js";

/** An int32 tensor's values as an Int32Array (a cpu kernel may have stored integers in a Float32Array). */
function indexValues(backend: NativeBackend, t: tf.TensorInfo): Int32Array {
  const v = backend.values<tf.backend_util.BackendValues>(t);
  return v instanceof Int32Array ? v : Int32Array.from(v as ArrayLike<number>);
}

type NumericInfo = tf.TensorInfo & { dtype: "float32" | "int32" | "bool" };
const numericX = (t: tf.TensorInfo | undefined): t is NumericInfo => t !== undefined && isNumeric(t.dtype);

export const transpose = nativeKernel("Transpose", ({ x }, backend, attrs) => {
  if (!numericX(x)) return undefined;
  const perm = attrs.perm as number[];
  const strides = stridesOf(x.shape);
  return stridedCopy(backend, x, perm.map((p) => x.shape[p]!), perm.map((p) => strides[p]!), 0);
});

function sliceOf(backend: NativeBackend, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const strides = stridesOf(x.shape);
  const offset = begin.reduce((acc, b, d) => acc + b * strides[d]!, 0);
  return stridedCopy(backend, x, size, strides, offset);
}

export const slice = nativeKernel("Slice", ({ x }, backend, attrs) => {
  if (!numericX(x)) return undefined;
  const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, attrs.begin as number[], attrs.size as number[]);
  tf.slice_util.assertParamsValid(x as unknown as tf.Tensor, begin, size);
  return sliceOf(backend, x, begin, size);
});

export const stridedSlice = nativeKernel("StridedSlice", ({ x }, backend, attrs) => {
  if (!numericX(x)) return undefined;
  const info = tf.slice_util.sliceInfo(
    x.shape,
    attrs.begin as number[],
    attrs.end as number[],
    attrs.strides as number[],
    attrs.beginMask as number,
    attrs.endMask as number,
    attrs.ellipsisMask as number,
    attrs.newAxisMask as number,
    attrs.shrinkAxisMask as number,
  );
  const rank = x.shape.length;
  // New or ellipsis axes make the sparse shape differ from x's rank: the cpu kernel handles those.
  if (info.finalShapeSparse.length !== rank || info.begin.length !== rank || info.strides.length !== rank) return undefined;
  const xStrides = stridesOf(x.shape);
  const size = info.finalShapeSparse;
  const offset = info.begin.reduce((acc, b, d) => acc + b * xStrides[d]!, 0);
  const copied = stridedCopy(backend, x, size, info.strides.map((s, d) => s * xStrides[d]!), offset);
  return { ...copied, shape: info.finalShape };
});

export const padV2 = nativeKernel("PadV2", ({ x }, backend, attrs) => {
  if (!numericX(x)) return undefined;
  const paddings = attrs.paddings as Array<[number, number]>;
  const outShape = x.shape.map((d, i) => paddings[i]![0] + d + paddings[i]![1]);
  const out = backend.alloc(sizeOf(outShape), x.dtype);
  backend.addon.fill(out, Number(attrs.constantValue ?? 0));
  const outStrides = stridesOf(outShape);
  const offset = paddings.reduce((acc, [before], d) => acc + before * outStrides[d]!, 0);
  if (sizeOf(x.shape) > 0) {
    backend.addon.copyStrided(out, backend.values(x), i32(x.shape), i32(outStrides), i32(stridesOf(x.shape)), offset, 0);
  }
  return backend.output(out, outShape, x.dtype);
});

/** Concatenates along `axis` (inputs of equal dtype and otherwise equal shapes). */
function concatAlong(backend: NativeBackend, inputs: tf.TensorInfo[], axis: number, outShape: number[]): tf.TensorInfo {
  const dtype = inputs[0]!.dtype as NumericInfo["dtype"];
  const out = backend.alloc(sizeOf(outShape), dtype);
  const outer = sizeOf(outShape.slice(0, axis));
  const outInner = sizeOf(outShape.slice(axis));
  let column = 0;
  for (const t of inputs) {
    const inner = sizeOf(t.shape.slice(axis));
    if (inner > 0 && outer > 0) {
      backend.addon.copyStrided(out, backend.values(t), i32([outer, inner]), i32([outInner, 1]), i32([inner, 1]), column, 0);
    }
    column += inner;
  }
  return backend.output(out, outShape, dtype);
}

export const concat = nativeKernel("Concat", (inputs, backend, attrs) => {
  const list = Object.values(inputs as Inputs) as tf.TensorInfo[];
  if (list.length === 0 || !list.every((t) => isNumeric(t.dtype) && t.dtype === list[0]!.dtype)) return undefined;
  const axis = tf.util.parseAxisParam(attrs.axis as number, list[0]!.shape)[0]!;
  tf.backend_util.assertParamsConsistent(list.map((t) => t.shape), axis);
  const outShape = tf.backend_util.computeOutShape(list.map((t) => t.shape), axis);
  return concatAlong(backend, list, axis, outShape);
});

export const pack = nativeKernel("Pack", (inputs, backend, attrs) => {
  const list = Object.values(inputs as Inputs) as tf.TensorInfo[];
  if (list.length === 0 || !list.every((t) => isNumeric(t.dtype) && t.dtype === list[0]!.dtype)) return undefined;
  const shape = list[0]!.shape;
  for (const t of list) tf.util.assertShapesMatch(shape, t.shape, "All tensors passed to stack must have matching shapes");
  const axis = axisOf(Number(attrs.axis), shape.length + 1);
  const expanded = list.map((t) => ({ ...t, shape: [...shape.slice(0, axis), 1, ...shape.slice(axis)] }));
  const outShape = [...shape.slice(0, axis), list.length, ...shape.slice(axis)];
  return concatAlong(backend, expanded, axis, outShape);
});

export const unpack = nativeKernel("Unpack", ({ value }, backend, attrs) => {
  if (!numericX(value)) return undefined;
  const axis = axisOf(Number(attrs.axis), value.shape.length);
  const outShape = value.shape.filter((_, i) => i !== axis);
  const strides = stridesOf(value.shape);
  const inStrides = strides.filter((_, i) => i !== axis);
  return Array.from({ length: value.shape[axis]! }, (_, i) => stridedCopy(backend, value, outShape, inStrides, i * strides[axis]!));
});

export const splitV = nativeKernel("SplitV", ({ x }, backend, attrs) => {
  if (!numericX(x)) return undefined;
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, attrs.numOrSizeSplits as number | number[], axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = x.shape.slice();
    size[axis] = s;
    const part = sliceOf(backend, x, begin, size);
    begin[axis]! += s;
    return part;
  });
});

export const tile = nativeKernel("Tile", ({ x }, backend, attrs) => {
  if (!numericX(x)) return undefined;
  const reps = attrs.reps as number[];
  const outShape = x.shape.map((d, i) => d * reps[i]!);
  // Output index (rep, i) per axis: a copy over 2·rank axes, the rep axes reading with stride 0.
  const outStrides = stridesOf(outShape);
  const xStrides = stridesOf(x.shape);
  const shape: number[] = [], so: number[] = [], si: number[] = [];
  x.shape.forEach((d, i) => {
    shape.push(reps[i]!, d);
    so.push(d * outStrides[i]!, outStrides[i]!);
    si.push(0, xStrides[i]!);
  });
  const out = backend.alloc(sizeOf(outShape), x.dtype);
  if (out.length > 0) backend.addon.copyStrided(out, backend.values(x), i32(shape), i32(so), i32(si), 0, 0);
  return backend.output(out, outShape, x.dtype);
});

export const reverse = nativeKernel("Reverse", ({ x }, backend, attrs) => {
  if (!numericX(x)) return undefined;
  const dims = tf.util.parseAxisParam(attrs.dims as number | number[], x.shape);
  const strides = stridesOf(x.shape);
  let offset = 0;
  const inStrides = strides.map((s, d) => {
    if (!dims.includes(d)) return s;
    offset += (x.shape[d]! - 1) * s;
    return -s;
  });
  return stridedCopy(backend, x, x.shape.slice(), inStrides, offset);
});

export const gatherV2 = nativeKernel("GatherV2", ({ x, indices }, backend, attrs) => {
  if (!numericX(x) || x.dtype === "bool" || Number(attrs.batchDims ?? 0) !== 0) return undefined;
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
  const outShape = [...x.shape.slice(0, axis), ...indices!.shape, ...x.shape.slice(axis + 1)];
  const out = backend.alloc(sizeOf(outShape), x.dtype);
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  backend.addon.gather(out, backend.values(x), indexValues(backend, indices!), outer, x.shape[axis]!, inner);
  return backend.output(out, outShape, x.dtype);
});

export const oneHot = nativeKernel("OneHot", ({ indices }, backend, attrs) => {
  const dtype = attrs.dtype as tf.DataType;
  if (dtype !== "float32" && dtype !== "int32") return undefined;
  const depth = Number(attrs.depth);
  const outShape = [...indices!.shape, depth];
  const out = backend.alloc(sizeOf(outShape), dtype);
  backend.addon.oneHot(out, indexValues(backend, indices!), depth, Number(attrs.onValue), Number(attrs.offValue));
  return backend.output(out, outShape, dtype);
});

export const cast = nativeKernel("Cast", ({ x }, backend, attrs) => {
  const dtype = attrs.dtype as tf.DataType;
  if (!numericX(x) || !isNumeric(dtype) || x.dtype === dtype) return undefined;
  const out = backend.alloc(sizeOf(x.shape), dtype);
  const values = backend.values<Float32Array | Int32Array | Uint8Array>(x);
  if (out.length > 0) backend.addon.cast(out, values);
  return backend.output(out, x.shape.slice(), dtype);
});

const filled = (backend: NativeBackend, shape: number[], dtype: "float32" | "int32" | "bool", value: number) => {
  const out = backend.alloc(sizeOf(shape), dtype);
  if (out.length > 0) backend.addon.fill(out, value);
  return backend.output(out, shape, dtype);
};

export const fill = nativeKernel("Fill", (_inputs, backend, attrs) => {
  const dtype = (attrs.dtype as tf.DataType | undefined) ?? "float32";
  const value = attrs.value;
  if (!isNumeric(dtype) || typeof value !== "number") return undefined;
  return filled(backend, (attrs.shape as number[]).slice(), dtype, value);
});

export const zerosLike = nativeKernel("ZerosLike", ({ x }, backend) => (numericX(x) ? filled(backend, x.shape.slice(), x.dtype, 0) : undefined));
export const onesLike = nativeKernel("OnesLike", ({ x }, backend) => (numericX(x) ? filled(backend, x.shape.slice(), x.dtype, 1) : undefined));

export const select = nativeKernel("Select", ({ condition, t, e }, backend) => {
  if (!numericX(t) || t.dtype !== e!.dtype || t.dtype === "bool" || condition!.dtype !== "bool") return undefined;
  if (!tf.util.arraysEqual(condition!.shape, t.shape) || !tf.util.arraysEqual(t.shape, e!.shape)) return undefined;
  const out = backend.alloc(sizeOf(t.shape), t.dtype);
  backend.addon.select(out, backend.values<Uint8Array>(condition!), backend.values(t), backend.values(e!), 1);
  return backend.output(out, t.shape.slice(), t.dtype);
});

export const addN = nativeKernel("AddN", (inputs, backend) => {
  const list = Object.values(inputs as Inputs) as tf.TensorInfo[];
  if (list.length === 0 || !list.every((t) => t.dtype === "float32")) return undefined;
  const out = backend.alloc(sizeOf(list[0]!.shape), "float32");
  backend.addon.addN(out, ...list.map((t) => backend.values(t)));
  return backend.output(out, list[0]!.shape.slice(), "float32");
});

export const unsortedSegmentSum = nativeKernel("UnsortedSegmentSum", ({ x, segmentIds }, backend, attrs) => {
  if (x!.dtype !== "float32") return undefined;
  const numSegments = Number(attrs.numSegments);
  const rest = x!.shape.slice(segmentIds!.shape.length);
  const out = backend.alloc(numSegments * sizeOf(rest), "float32");
  backend.addon.segmentSum(out, backend.values(x!), indexValues(backend, segmentIds!), numSegments, sizeOf(rest));
  return backend.output(out, [numSegments, ...rest], "float32");
});

export const layoutKernels: tf.KernelConfig[] = [
  transpose, slice, stridedSlice, padV2, concat, pack, unpack, splitV, tile, reverse, gatherV2, oneHot, cast, fill,
  zerosLike, onesLike, select, addN, unsortedSegmentSum,
];
