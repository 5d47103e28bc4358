/** The dense layer's product and bias as one op that keeps only what its gradient needs. */
import { tf } from "../tf.js";
import { runKernels, useKernel } from "./dispatch.js";
import { LINEAR, LINEAR_GRAD, LINEAR_PAIR, LINEAR_PAIR_GRAD } from "./names.js";

/**
 * y = x·w + bias over the last axis: x [..., in] of any rank ≥ 1, w [in, out], bias [out] or
 * null for none; y is [..., out]. The backward pass keeps x and w only — `tf.fused.matMul`'s
 * own gradient also keeps y, which on the largest maps of a training step holds ~10 % more
 * memory (CLUE_nano_FMNIST, batch 64: 923 vs 835 MB).
 * Gradients: dx = dy·wᵀ, dw = xᵀ·dy, dbias = Σ_rows dy (rows: all axes of x but the last).
 * One kernel each way on backends that have one (no reshapes on the tape); the composition
 * {@link referenceLinear} elsewhere.
 */
export function linear<T extends tf.Tensor>(x: T, w: tf.Tensor2D, bias: tf.Tensor1D | null = null): T {
  checkLinear(x, w, bias);
  const floats = x.dtype === "float32" && w.dtype === "float32" && (!bias || bias.dtype === "float32");
  // Empty products (no rows, in or out) have nothing to gain from the kernel: the composition
  // handles them.
  if (!floats || x.size === 0 || w.size === 0 || !useKernel(LINEAR, linearGradient)) return referenceLinear(x, w, bias);
  const inputs: tf.NamedTensorMap = bias ? { x, w, bias } : { x, w };
  return tf.engine().runKernel(LINEAR, inputs, { hasBias: bias !== null }) as T;
}

/**
 * The composition {@link linear} stands for: x flattened to [rows, in], `tf.fused.matMul` with
 * the bias in its epilogue under a gradient that keeps x and w (or `tf.matMul` without bias),
 * reshaped back to [..., out].
 */
export function referenceLinear<T extends tf.Tensor>(x: T, w: tf.Tensor2D, bias: tf.Tensor1D | null = null): T {
  checkLinear(x, w, bias);
  const [inFeatures, outFeatures] = w.shape;
  return tf.tidy(() => {
    const flat = x.rank === 2 ? (x as unknown as tf.Tensor2D) : tf.reshape(x, [-1, inFeatures]) as tf.Tensor2D;
    const y = bias ? (linearOp(flat, w, bias) as tf.Tensor2D) : tf.matMul(flat, w);
    return (x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), outFeatures])) as unknown as T;
  });
}

/**
 * Two dense layers reading one input: `[x·w1 + bias1, x·w2 + bias2]` (a token mixer's K and V
 * from one map), each as {@link linear} computes it. The point is the gradient: TensorFlow.js
 * sums the input gradients of a tensor with two consumers with an Add over the whole map; here
 * x has one consumer, and dx = dy1·w1ᵀ + dy2·w2ᵀ is one kernel that writes dx once (backends with
 * the kernel). Elsewhere the composition {@link referenceLinearPair}.
 */
export function linearPair<T extends tf.Tensor>(x: T, w1: tf.Tensor2D, bias1: tf.Tensor1D | null, w2: tf.Tensor2D, bias2: tf.Tensor1D | null): [T, T] {
  checkLinear(x, w1, bias1);
  checkLinear(x, w2, bias2);
  const floats = [x, w1, w2, bias1, bias2].every((t) => !t || t.dtype === "float32");
  if (!floats || x.size === 0 || w1.size === 0 || w2.size === 0 || !useKernel(LINEAR_PAIR, linearPairGradient)) {
    return referenceLinearPair(x, w1, bias1, w2, bias2);
  }
  const inputs: tf.NamedTensorMap = { x, w1, w2 };
  if (bias1) inputs.bias1 = bias1;
  if (bias2) inputs.bias2 = bias2;
  const [y1, y2] = runKernels(LINEAR_PAIR, inputs, { hasBias1: bias1 !== null, hasBias2: bias2 !== null });
  return [y1 as T, y2 as T];
}

/** The composition {@link linearPair} stands for: the two {@link linear} layers, the tape summing dx. */
export function referenceLinearPair<T extends tf.Tensor>(x: T, w1: tf.Tensor2D, bias1: tf.Tensor1D | null, w2: tf.Tensor2D, bias2: tf.Tensor1D | null): [T, T] {
  return [linear(x, w1, bias1), linear(x, w2, bias2)];
}

function checkLinear(x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor | null): void {
  if (x.rank < 1 || w.rank !== 2 || x.shape[x.rank - 1] !== w.shape[0] || (bias && (bias.rank !== 1 || w.shape[1] !== bias.shape[0]))) {
    throw new Error(
      `linear: x ${JSON.stringify(x.shape)}, w ${JSON.stringify(w.shape)} and bias ${bias ? JSON.stringify(bias.shape) : "null"} ` +
        "must be [..., in], [in, out] and [out] (or null)",
    );
  }
}

const linearOp = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, w, bias] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
  const save = args[3] as tf.GradSaveFunc;
  save([x, w]);
  return {
    value: tf.fused.matMul({ a: x, b: w, bias }),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, sw, false, true), tf.matMul(sx, g, true, false), tf.sum(g, 0)];
    },
  };
});

// x and w are kept (not y). The kernel computes dx, dw and dbias in one call.
const linearGradient = (): tf.GradConfig => ({
  kernelName: LINEAR,
  inputsToSave: ["x", "w"],
  gradFunc: (dy, saved, attrs) => {
    const [x, w] = saved as tf.Tensor[];
    // One kernel gives all three, run here and not inside the per-input closures: tfjs runs
    // each closure in its own tidy, which would dispose the others.
    const [dx, dw, dbias] = runKernels(LINEAR_GRAD, { dy: dy as tf.Tensor, x: x!, w: w! }, attrs as tf.NamedAttrMap);
    return { x: () => dx!, w: () => dw!, bias: () => dbias! };
  },
});

// x, w1 and w2 are kept. One kernel gives dx (both layers' share, summed as it is written), the
// weight and the bias gradients.
const linearPairGradient = (): tf.GradConfig => ({
  kernelName: LINEAR_PAIR,
  inputsToSave: ["x", "w1", "w2"],
  gradFunc: (dys, saved, attrs) => {
    const [x, w1, w2] = saved as tf.Tensor[];
    const [dy1, dy2] = dys as tf.Tensor[];
    const { hasBias1, hasBias2 } = attrs as { hasBias1: boolean; hasBias2: boolean };
    const [dx, dw1, dw2, ...dbias] = runKernels(LINEAR_PAIR_GRAD, { dy1: dy1!, dy2: dy2!, x: x!, w1: w1!, w2: w2! }, attrs as tf.NamedAttrMap);
    const grads: Record<string, () => tf.Tensor> = { x: () => dx!, w1: () => dw1!, w2: () => dw2! };
    if (hasBias1) grads.bias1 = () => dbias[0]!;
    if (hasBias2) grads.bias2 = () => dbias[hasBias1 ? 1 : 0]!;
    return grads;
  },
});
