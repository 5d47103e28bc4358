/**
 * AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization"), as PyTorch's
 * `torch.optim.AdamW`, which the papers' official training scripts use.
 *
 * TensorFlow.js ships Adam but no decoupled weight decay (its optimizers take no decay at all),
 * and its optimizer state is keyed by generated variable names, which do not survive a restart.
 * This one keeps its moments per variable, exposes them for checkpoints, and applies a step as
 * one commit: every input is checked first, then all variables are updated together (engine's
 * adamwUpdate), so a refused step never leaves a half-updated model.
 */
import { adamwUpdate, tf } from "../engine/index.js";

/** Hyperparameters of {@link AdamW}; the defaults are PyTorch's, except `weightDecay` (see there). */
export interface AdamWOptions {
  /** Base learning rate (a schedule scales it per step). Default 1e-3. */
  lr?: number;
  /** Decay of the first moment (default 0.9). */
  beta1?: number;
  /** Decay of the second moment (default 0.999). */
  beta2?: number;
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay: each step multiplies weights by 1 − lr·weightDecay (default 0.05, the papers' value). */
  weightDecay?: number;
}

/** The optimizer's state for one variable: first and second moments, in the variable's shape. */
export interface AdamWSlot {
  m: tf.Variable;
  v: tf.Variable;
}

/** A plain snapshot of the optimizer's state (what checkpoints store). */
export interface AdamWState {
  /** Steps taken (PyTorch's `state["step"]`). */
  step: number;
  /** Moments per variable, in the order of the variables given to {@link AdamW.exportState}. */
  slots: Array<{ m: Float32Array; v: Float32Array; shape: number[] } | null>;
}

function check(name: string, value: number, ok: (v: number) => boolean, range: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || !ok(value)) {
    throw new RangeError(`AdamW: ${name} must be ${range}, got ${String(value)}`);
  }
  return value;
}

/** AdamW with PyTorch's update rule; see the module comment. */
export class AdamW {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  #step = 0;
  readonly #slots = new Map<tf.Variable, AdamWSlot>();

  constructor(options: AdamWOptions = {}) {
    this.lr = check("lr", options.lr ?? 1e-3, (v) => v >= 0, "≥ 0");
    this.beta1 = check("beta1", options.beta1 ?? 0.9, (v) => v >= 0 && v < 1, "in [0, 1)");
    this.beta2 = check("beta2", options.beta2 ?? 0.999, (v) => v >= 0 && v < 1, "in [0, 1)");
    this.eps = check("eps", options.eps ?? 1e-8, (v) => v > 0, "> 0");
    this.weightDecay = check("weightDecay", options.weightDecay ?? 0.05, (v) => v >= 0, "≥ 0");
  }

  /** The hyperparameters, as given (for logs and checkpoints). */
  get options(): Required<AdamWOptions> {
    return { lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay };
  }

  /** Steps taken so far. */
  get step(): number {
    return this.#step;
  }

  /** The moments of `variable`, once it has been updated (undefined before). */
  slot(variable: tf.Variable): AdamWSlot | undefined {
    return this.#slots.get(variable);
  }

  /**
   * One AdamW step: for every variable with a gradient, θ ← θ·(1 − lr·λ) − lr·m̂/(√v̂ + ε).
   * Variables whose gradient is null or undefined are left alone (as PyTorch skips `grad is None`).
   * The gradients are not disposed.
   */
  applyGradients(variables: readonly tf.Variable[], gradients: ReadonlyArray<tf.Tensor | null | undefined>, lr = this.lr): void {
    if (variables.length !== gradients.length) {
      throw new RangeError(`AdamW: ${variables.length} variables but ${gradients.length} gradients`);
    }
    check("the step's learning rate", lr, (v) => v >= 0, "≥ 0");
    gradients.forEach((g, i) => {
      if (g && !tf.util.arraysEqual(g.shape, variables[i]!.shape)) {
        throw new RangeError(`AdamW: the gradient of variable ${i} has shape [${g.shape.join(", ")}], the variable [${variables[i]!.shape.join(", ")}]`);
      }
    });
    const t = this.#step + 1;
    const params: tf.Variable[] = [];
    const grads: tf.Tensor[] = [];
    const ms: tf.Variable[] = [];
    const vs: tf.Variable[] = [];
    variables.forEach((variable, i) => {
      const g = gradients[i];
      if (!g) return;
      params.push(variable);
      grads.push(g);
    });
    // Validated before any moment is created, so a refused step leaves the state as it was.
    checkDistinct(params);
    for (const variable of params) {
      const slot = this.#slotFor(variable);
      ms.push(slot.m);
      vs.push(slot.v);
    }
    // The commit: the engine checks everything before it changes anything, then updates every
    // variable and both moments (one native kernel for all of them in place, where there is one).
    adamwUpdate(params, grads, ms, vs, t, { lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay });
    this.#step = t;
  }

  /** A copy of the state for `variables` (in that order), for checkpoints. */
  async exportState(variables: readonly tf.Variable[]): Promise<AdamWState> {
    const slots: AdamWState["slots"] = [];
    for (const variable of variables) {
      const slot = this.#slots.get(variable);
      slots.push(slot ? { m: (await slot.m.data()) as Float32Array, v: (await slot.v.data()) as Float32Array, shape: [...variable.shape] } : null);
    }
    return { step: this.#step, slots };
  }

  /** Restores a state exported for the same `variables` (same order and shapes); all or nothing. */
  importState(variables: readonly tf.Variable[], state: AdamWState): void {
    if (!Number.isSafeInteger(state.step) || state.step < 0) throw new RangeError(`AdamW state: step must be an integer ≥ 0, got ${state.step}`);
    if (state.slots.length !== variables.length) {
      throw new RangeError(`AdamW state holds moments for ${state.slots.length} variables, the model has ${variables.length}`);
    }
    const bad: string[] = [];
    state.slots.forEach((s, i) => {
      const size = variables[i]!.size;
      if (s && (!tf.util.arraysEqual(s.shape, variables[i]!.shape) || s.m.length !== size || s.v.length !== size)) {
        bad.push(`variable ${i}: the state has [${s.shape.join(", ")}], the model [${variables[i]!.shape.join(", ")}]`);
      }
    });
    if (bad.length > 0) throw new RangeError(`AdamW state does not fit the model's variables:\n  ${bad.join("\n  ")}`);
    this.reset();
    state.slots.forEach((s, i) => {
      if (!s) return;
      const variable = variables[i]!;
      this.#slots.set(
        variable,
        tf.tidy(() => ({
          m: tf.variable(tf.tensor(s.m, variable.shape, "float32"), false),
          v: tf.variable(tf.tensor(s.v, variable.shape, "float32"), false),
        })),
      );
    });
    this.#step = state.step;
  }

  /** Forgets every moment and the step count. */
  reset(): void {
    for (const { m, v } of this.#slots.values()) tf.dispose([m, v]);
    this.#slots.clear();
    this.#step = 0;
  }

  /** Frees the moments. */
  dispose(): void {
    this.reset();
  }

  #slotFor(variable: tf.Variable): AdamWSlot {
    let slot = this.#slots.get(variable);
    if (!slot) {
      slot = tf.tidy(() => ({ m: tf.variable(tf.zerosLike(variable), false), v: tf.variable(tf.zerosLike(variable), false) }));
      this.#slots.set(variable, slot);
    }
    return slot;
  }
}

function checkDistinct(variables: readonly tf.Variable[]): void {
  const seen = new Set<tf.Variable>();
  variables.forEach((variable, i) => {
    if (seen.has(variable)) throw new RangeError(`AdamW: variable ${i} (${variable.name}) is listed twice; give each variable once`);
    seen.add(variable);
  });
}
