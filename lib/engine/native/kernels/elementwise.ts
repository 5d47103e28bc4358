/** Elementwise kernels: unary maps and broadcasting binary ops on float32 (comparisons on any numeric dtype). */
import { tf } from "../../tf.js";
import type { NativeBackend } from "../backend.js";
import { broadcastStrides, i32, nativeKernel, sizeOf } from "./common.js";

/** Kernel name → the addon's unary op code (native/src/elementwise.cc, UnaryOp). */
const UNARY: Record<string, number> = {
  Neg: 1, Abs: 2, Square: 3, Sqrt: 4, Rsqrt: 5, Exp: 6, Log: 7, Relu: 8, Relu6: 9, Sigmoid: 10, Tanh: 11, Erf: 12,
  Step: 13, Reciprocal: 14, Elu: 15, LeakyRelu: 16, Softplus: 17, Floor: 18, Ceil: 19, Round: 20, Sign: 21, Log1p: 22,
  Expm1: 23, ClipByValue: 24, Sin: 25, Cos: 26, Selu: 27,
};

/** Kernel name → the addon's binary op code (BinaryOp); codes from 8 on give bool. */
const BINARY: Record<string, number> = {
  Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6, Pow: 7,
  Equal: 8, NotEqual: 9, Greater: 10, GreaterEqual: 11, Less: 12, LessEqual: 13, LogicalAnd: 14, LogicalOr: 15,
};

export function unaryOp(backend: NativeBackend, kernelName: string, x: tf.TensorInfo, alpha = 0, beta = 0): tf.TensorInfo {
  const out = backend.alloc(sizeOf(x.shape), "float32");
  backend.addon.unary(UNARY[kernelName]!, out, backend.values(x), alpha, beta);
  return backend.output(out, x.shape.slice(), "float32");
}

/** a ⊙ b with broadcasting, for kernels in {@link BINARY}; float32 operands unless a comparison. */
export function binaryOp(backend: NativeBackend, kernelName: string, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  const code = BINARY[kernelName]!;
  const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const dtype = code >= 8 ? "bool" : "float32";
  const out = backend.alloc(sizeOf(shape), dtype);
  if (out.length > 0) {
    backend.addon.binary(code, out, backend.values(a), backend.values(b), i32(shape), i32(broadcastStrides(a.shape, shape)), i32(broadcastStrides(b.shape, shape)));
  }
  return backend.output(out, shape, dtype);
}

const unaryKernels = Object.keys(UNARY).map((name) =>
  nativeKernel(name, ({ x }, backend, attrs) => {
    if (x!.dtype !== "float32") return undefined;
    if (name === "ClipByValue") return unaryOp(backend, name, x!, Number(attrs.clipValueMin), Number(attrs.clipValueMax));
    if (name === "LeakyRelu" || name === "Step") return unaryOp(backend, name, x!, Number(attrs.alpha ?? (name === "Step" ? 0 : 0.2)));
    return unaryOp(backend, name, x!);
  }),
);

const binaryKernels = Object.keys(BINARY).map((name) =>
  nativeKernel(name, ({ a, b }, backend) => {
    const code = BINARY[name]!;
    if (a!.dtype !== b!.dtype) return undefined;
    const ok = code >= 14 ? a!.dtype === "bool" : code >= 8 ? a!.dtype !== "string" && a!.dtype !== "complex64" : a!.dtype === "float32";
    return ok ? binaryOp(backend, name, a!, b!) : undefined;
  }),
);

export const elementwiseKernels: tf.KernelConfig[] = [...unaryKernels, ...binaryKernels];
