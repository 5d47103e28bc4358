/** The residual update of a MetaFormer block (layer scale and drop path on the branch). */
import { tf } from "../tf.js";
import { shareTensor } from "../tape-saves.js";
import { runKernels, useKernel } from "./dispatch.js";
import { RESIDUAL, RESIDUAL_GRAD, RESIDUAL_SCALED } from "./names.js";

/**
 * x + mask[b]·(scale[c]·branch): a block's residual update with its layer scale (`scale`, over
 * the last axis) and drop path's per-sample factors (`mask`, one per item of the batch axis: 0
 * or 1/keep), either of them null for none. x and branch are float32 of one shape [B, …, C].
 * Gradients: dx = dy, dbranch = dy·mask·scale, dscale = Σ_{all but C} dy·mask·branch (the mask
 * is a constant). One kernel each way on backends that have one; the composition
 * {@link referenceResidual} elsewhere.
 */
export function residual<T extends tf.Tensor>(x: T, branch: T, scale: tf.Tensor1D | null = null, mask: Float32Array | null = null): T {
  checkResidual(x, branch, scale, mask);
  if (!scale && !mask) return tf.add(x, branch);
  const attrs = { mask: mask ? Array.from(mask) : [] };
  if (scale) {
    if (!useKernel(RESIDUAL_SCALED, scaledGradient)) return referenceResidual(x, branch, scale, mask);
    return tf.engine().runKernel(RESIDUAL_SCALED, { x, branch, scale }, attrs) as T;
  }
  if (!useKernel(RESIDUAL, maskedGradient)) return referenceResidual(x, branch, scale, mask);
  return tf.engine().runKernel(RESIDUAL, { x, branch }, attrs) as T;
}

/**
 * The composition {@link residual} stands for, op for op as the blocks spelled it before: the
 * branch times the layer scale, times the mask as a [B, 1, …, 1] tensor, added to x.
 */
export function referenceResidual<T extends tf.Tensor>(x: T, branch: T, scale: tf.Tensor1D | null = null, mask: Float32Array | null = null): T {
  checkResidual(x, branch, scale, mask);
  return tf.tidy(() => {
    let b: tf.Tensor = branch;
    if (scale) b = tf.mul(b, scale);
    if (mask) b = tf.mul(b, tf.tensor(mask, [mask.length, ...new Array<number>(x.rank - 1).fill(1)]));
    return tf.add(x, b) as T;
  });
}

function checkResidual(x: tf.Tensor, branch: tf.Tensor, scale: tf.Tensor | null, mask: Float32Array | null): void {
  const shape = JSON.stringify(x.shape);
  if (x.rank < 2 || !tf.util.arraysEqual(x.shape, branch.shape)) {
    throw new Error(`residual: x ${shape} and branch ${JSON.stringify(branch.shape)} must have one shape [batch, …, channels] of rank 2 or more`);
  }
  if (x.dtype !== "float32" || branch.dtype !== "float32" || (scale && scale.dtype !== "float32")) {
    throw new Error(`residual: x, branch and scale must be float32 (got ${x.dtype}, ${branch.dtype}${scale ? `, ${scale.dtype}` : ""}); cast them first`);
  }
  const channels = x.shape[x.rank - 1]!;
  if (scale && (scale.rank !== 1 || scale.shape[0] !== channels)) {
    throw new Error(`residual: scale ${JSON.stringify(scale.shape)} must be [${channels}], the size of x's last axis (x is ${shape})`);
  }
  if (mask && mask.length !== x.shape[0]) {
    throw new Error(`residual: mask has ${mask.length} factors, x ${shape} has ${x.shape[0]} items on its batch axis: give one per item`);
  }
}

// dx is dy (a tensor sharing its storage, made without a kernel); the mask travels as an
// attribute, a constant.
const maskedGradient = (): tf.GradConfig => ({
  kernelName: RESIDUAL,
  gradFunc: (dy, _saved, attrs) => {
    const g = dy as tf.Tensor;
    const mask = (attrs as { mask: number[] }).mask;
    return {
      x: () => shareTensor(g),
      branch: () => runKernels(RESIDUAL_GRAD, { dy: g }, { mask })[0]!,
    };
  },
});

const scaledGradient = (): tf.GradConfig => ({
  kernelName: RESIDUAL_SCALED,
  inputsToSave: ["branch", "scale"],
  gradFunc: (dy, saved, attrs) => {
    const g = dy as tf.Tensor;
    const [branch, scale] = saved as tf.Tensor[];
    // One kernel gives both gradients, run here and not inside the per-input closures: tfjs runs
    // each closure in its own tidy, which would dispose the other one.
    const [dbranch, dscale] = runKernels(RESIDUAL_GRAD, { dy: g, branch: branch!, scale: scale! }, attrs as tf.NamedAttrMap);
    return { x: () => shareTensor(g), branch: () => dbranch!, scale: () => dscale! };
  },
});
