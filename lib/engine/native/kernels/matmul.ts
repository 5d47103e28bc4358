/** BatchMatMul and _FusedMatMul on oneDNN's GEMM, bias and activation fused into one pass. */
import { tf } from "../../tf.js";
import type { NativeBackend } from "../backend.js";
import { binaryOp } from "./elementwise.js";
import { BACKEND_NAME, nativeKernel, sizeOf, type Inputs } from "./common.js";

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, sigmoid: 3, leakyrelu: 4, elu: 5 };

interface Product {
  out: Float32Array;
  shape: number[];
  n: number;
}

/** The product of a and b as tfjs defines it (batch dims broadcast by index modulo), or undefined. */
function product(
  backend: NativeBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transA: boolean,
  transB: boolean,
  bias: Float32Array | null,
  activation: number,
  alpha: number,
): Product | undefined {
  if (a.dtype !== "float32" || b.dtype !== "float32") return undefined;
  const ra = a.shape.length, rb = b.shape.length;
  const k = transA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const m = transA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const n = transB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} and ` +
        `transposeA=${transA} and transposeB=${transB} must match.`,
    );
  }
  const batchA = sizeOf(a.shape.slice(0, -2)), batchB = sizeOf(b.shape.slice(0, -2));
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = sizeOf(outer);
  // Only "same batch" or "one side has a single matrix" map onto strided GEMMs.
  if ((batchA !== 1 && batchA !== batch) || (batchB !== 1 && batchB !== batch)) return undefined;
  const out = backend.alloc(batch * m * n, "float32");
  backend.addon.matmul(out, backend.values(a), backend.values(b), bias, batchA, batchB, m, n, k, transA ? 1 : 0, transB ? 1 : 0, activation, alpha);
  return { out, shape: [...outer, m, n], n };
}

export const batchMatMul = nativeKernel("BatchMatMul", ({ a, b }, backend, attrs) => {
  const p = product(backend, a!, b!, Boolean(attrs.transposeA), Boolean(attrs.transposeB), null, 0, 0);
  return p && backend.output(p.out, p.shape, "float32");
});

export const fusedMatMul = nativeKernel("_FusedMatMul", (inputs: Inputs, backend, attrs) => {
  const { a, b, bias, preluActivationWeights } = inputs;
  const activation = (attrs.activation as string | undefined) ?? "linear";
  const code = ACTIVATIONS[activation];
  if (code === undefined && activation !== "prelu") return undefined;
  if (bias && bias.dtype !== "float32") return undefined;
  // A bias along the last axis folds into the GEMM's epilogue; any other shape is added after.
  const n = attrs.transposeB ? b!.shape[b!.shape.length - 2]! : b!.shape[b!.shape.length - 1]!;
  const rowBias = bias !== undefined && bias.shape.every((d, i) => d === 1 || (i === bias.shape.length - 1 && d === n)) && sizeOf(bias.shape) === n;
  const fuseAll = code !== undefined && (bias === undefined || rowBias);
  const p = product(
    backend,
    a!,
    b!,
    Boolean(attrs.transposeA),
    Boolean(attrs.transposeB),
    rowBias ? backend.values(bias!) : null,
    fuseAll ? code! : 0,
    Number(attrs.leakyreluAlpha ?? 0.2),
  );
  if (!p) return undefined;
  let current = backend.output(p.out, p.shape, "float32");
  if (fuseAll) return current;
  if (bias && !rowBias) {
    const sum = binaryOp(backend, "Add", current, bias);
    backend.disposeIntermediateTensorInfo(current);
    current = sum;
  }
  const activate = tf.getKernel(activation === "prelu" ? "Prelu" : activationKernel(activation), BACKEND_NAME);
  if (!activate) throw new Error(`_FusedMatMul: no kernel for activation ${activation}`);
  const activated = activate.kernelFunc({
    inputs: activation === "prelu" ? { x: current, alpha: preluActivationWeights! } : { x: current },
    backend,
    attrs: activation === "leakyrelu" ? { alpha: Number(attrs.leakyreluAlpha ?? 0.2) } : {},
  }) as tf.TensorInfo;
  backend.disposeIntermediateTensorInfo(current);
  return activated;
});

function activationKernel(activation: string): string {
  return { linear: "Identity", relu: "Relu", relu6: "Relu6", sigmoid: "Sigmoid", leakyrelu: "LeakyRelu", elu: "Elu" }[activation] ?? activation;
}
