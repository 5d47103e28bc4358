/**
 * Optimizer updates: one kernel per variable (TensorFlow.js spends ~15 kernels on each), or one
 * kernel for all of a model's variables, in place, where the backend has it.
 */
import { tf } from "../tf.js";
import { runKernels, useKernel } from "./dispatch.js";
import { ADAMW, ADAMW_UPDATE } from "./names.js";

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
  const attrs = withDefaults(options, step);
  checkStep("adamwStep", step);
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

/**
 * One AdamW step (as {@link adamwStep}) for every parameter at once, each parameter and both its
 * moments overwritten in place. On the native backend this is one kernel over all the variables'
 * elements, with no new tensors; a variable whose data another tensor shares (a `tf.clone`, a
 * reshape) gets new storage instead, so such a snapshot keeps its values, and so do arrays read
 * out earlier with `data()`/`dataSync()`. Elsewhere each variable takes {@link adamwStep} and is
 * assigned the result. Every argument is checked before anything changes; `grads` are only read.
 * @param params the parameters; `grads[i]`, `ms[i]` and `vs[i]` belong to `params[i]` and have its shape.
 * @param ms first moments (zeros before the first step), updated in place.
 * @param vs second moments, likewise.
 * @param step the step number, 1 for the first update (bias correction).
 */
export function adamwUpdate(
  params: readonly tf.Variable[],
  grads: readonly tf.Tensor[],
  ms: readonly tf.Variable[],
  vs: readonly tf.Variable[],
  step: number,
  options: AdamWOptions,
): void {
  checkUpdate(params, grads, ms, vs);
  checkStep("adamwUpdate", step);
  const attrs = withDefaults(options, step);
  const backend = tf.backend();
  const native = useKernel(ADAMW_UPDATE);
  // Variables the kernel may not overwrite in place (or all, without the kernel) take adamwStep.
  const outOfPlace: number[] = [];
  const inPlace: tf.NamedTensorMap = {};
  let count = 0;
  params.forEach((p, i) => {
    if (p.size === 0) return;
    const shared = () => backend.refCount(p.dataId) !== 1 || backend.refCount(ms[i]!.dataId) !== 1 || backend.refCount(vs[i]!.dataId) !== 1;
    if (!native || shared()) {
      outOfPlace.push(i);
      return;
    }
    const [pName, gName, mName, vName] = adamwUpdateInputs(count++);
    inPlace[pName] = p;
    inPlace[gName] = grads[i]!;
    inPlace[mName] = ms[i]!;
    inPlace[vName] = vs[i]!;
  });
  const updates = tf.tidy(() =>
    outOfPlace.map((i) => {
      const next = adamwStep(params[i]!, grads[i]!, ms[i]!, vs[i]!, step, options);
      return [tf.keep(next.param), tf.keep(next.m), tf.keep(next.v)] as const;
    }),
  );
  try {
    if (count > 0) runKernels(ADAMW_UPDATE, inPlace, { ...attrs, count });
  } catch (error) {
    tf.dispose(updates.flat());
    throw error;
  }
  outOfPlace.forEach((i, k) => {
    const [p, m, v] = updates[k]!;
    params[i]!.assign(p);
    ms[i]!.assign(m);
    vs[i]!.assign(v);
  });
  tf.dispose(updates.flat());
}

function checkUpdate(params: readonly tf.Variable[], grads: readonly tf.Tensor[], ms: readonly tf.Variable[], vs: readonly tf.Variable[]): void {
  if (grads.length !== params.length || ms.length !== params.length || vs.length !== params.length) {
    throw new RangeError(`adamwUpdate: ${params.length} parameters need as many gradients and moments, got ${grads.length} gradients, ${ms.length} m and ${vs.length} v`);
  }
  const seen = new Set<tf.Tensor>();
  const problems: string[] = [];
  const check = (what: string, t: tf.Tensor | undefined, i: number, variable: boolean) => {
    const p = params[i]!;
    if (!t || t.isDisposed) problems.push(`the ${what} of parameter ${i} is ${t ? "disposed" : "missing"}`);
    else if (t.dtype !== "float32") problems.push(`the ${what} of parameter ${i} is ${t.dtype}, not float32`);
    else if (!tf.util.arraysEqual(t.shape, p.shape)) problems.push(`the ${what} of parameter ${i} has shape [${t.shape.join(", ")}], the parameter [${p.shape.join(", ")}]`);
    if (!variable || !t) return;
    if (seen.has(t)) problems.push(`the ${what} of parameter ${i} appears twice among the variables (each is updated once)`);
    seen.add(t);
  };
  for (let i = 0; i < params.length; i++) {
    check("parameter", params[i], i, true);
    check("gradient", grads[i], i, false);
    check("m", ms[i], i, true);
    check("v", vs[i], i, true);
  }
  if (problems.length > 0) throw new RangeError(`adamwUpdate: nothing was updated:\n  ${problems.join("\n  ")}`);
}

const inputNames: Array<readonly [string, string, string, string]> = [];

/**
 * The names of variable i's inputs to the multi-tensor kernel (param, grad, m, v), the same
 * strings every step: a fresh template string per input cost ~2 µs each in a 167-variable step.
 */
export function adamwUpdateInputs(i: number): readonly [string, string, string, string] {
  for (let k = inputNames.length; k <= i; k++) inputNames.push([`param${k}`, `grad${k}`, `m${k}`, `v${k}`]);
  return inputNames[i]!;
}

function checkStep(op: string, step: number): void {
  if (!Number.isInteger(step) || step < 1) throw new Error(`${op}: step must be a whole number ≥ 1, got ${step}`);
}

function withDefaults(options: AdamWOptions, step: number): Required<AdamWOptions> & { step: number } {
  return {
    lr: options.lr,
    beta1: options.beta1 ?? 0.9,
    beta2: options.beta2 ?? 0.999,
    eps: options.eps ?? 1e-8,
    weightDecay: options.weightDecay ?? 0.01,
    step,
  };
}
