/** Optimizer updates as one kernel per variable (TensorFlow.js spends ~15 kernels on each). */
import { tf } from "../tf.js";
import { runKernels, useKernel } from "./dispatch.js";
import { ADAMW } from "./names.js";

/** AdamW hyper-parameters, PyTorch's names and defaults except the learning rate. */
export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/**
 * One AdamW step (PyTorch's torch.optim.AdamW) for one parameter: decoupled weight decay
 * p·(1 − lr·wd), moments m ← β₁m + (1−β₁)g and v ← β₂v + (1−β₂)g², then
 * p ← p − lr·m̂/(√v̂ + ε) with bias corrections at step `step` (1 for the first update).
 * Returns new tensors for the parameter and both moments; the caller assigns and disposes them.
 */
export function adamwStep(
  param: tf.Tensor,
  grad: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  step: number,
  options: AdamWOptions,
): { param: tf.Tensor; m: tf.Tensor; v: tf.Tensor } {
  const attrs = {
    lr: options.lr,
    beta1: options.beta1 ?? 0.9,
    beta2: options.beta2 ?? 0.999,
    eps: options.eps ?? 1e-8,
    weightDecay: options.weightDecay ?? 0.01,
    step,
  };
  if (!Number.isInteger(step) || step < 1) throw new Error(`adamwStep: step must be a whole number ≥ 1, got ${step}`);
  if (!useKernel(ADAMW)) return referenceAdamwStep(param, grad, m, v, attrs);
  const [p1, m1, v1] = runKernels(ADAMW, { param, grad, m, v }, attrs);
  return { param: p1!, m: m1!, v: v1! };
}

/** The composition {@link adamwStep} stands for. */
export function referenceAdamwStep(
  param: tf.Tensor,
  grad: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  a: Required<AdamWOptions> & { step: number },
): { param: tf.Tensor; m: tf.Tensor; v: tf.Tensor } {
  return tf.tidy(() => {
    const m1 = tf.add(tf.mul(m, a.beta1), tf.mul(grad, 1 - a.beta1));
    const v1 = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(grad), 1 - a.beta2));
    const denom = tf.add(tf.div(tf.sqrt(v1), Math.sqrt(1 - a.beta2 ** a.step)), a.eps);
    const update = tf.div(tf.mul(m1, a.lr / (1 - a.beta1 ** a.step)), denom);
    const p1 = tf.sub(tf.mul(param, 1 - a.lr * a.weightDecay), update);
    return { param: p1, m: m1, v: v1 };
  });
}
