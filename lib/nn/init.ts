/**
 * Initialisers: each fills a parameter's values (in the official PyTorch layout's element count;
 * every scheme here is i.i.d., so the layout does not matter) from a seeded {@link Rng}.
 */
import type { Rng } from "./rng.js";

/** Fills `size` values. */
export type Initializer = (size: number, rng: Rng) => Float32Array;

/** Every value `value`. */
export const constant =
  (value: number): Initializer =>
  (size) =>
    new Float32Array(size).fill(value);

export const zeros: Initializer = constant(0);
export const ones: Initializer = constant(1);

/** Normal(0, std²), as `tensor.normal_(0, std)`. */
export const normal =
  (std: number): Initializer =>
  (size, rng) => {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = std * rng.normal();
    return out;
  };

/**
 * Normal(0, std²) redrawn outside [lo, hi], as timm's / PyTorch's `trunc_normal_(std=…)`, whose
 * bounds are absolute (−2, 2 by default): with std 0.02 they almost never bind.
 */
export const truncNormal =
  (std: number, lo = -2, hi = 2): Initializer =>
  (size, rng) => {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      let v: number;
      do v = std * rng.normal();
      while (v < lo || v > hi);
      out[i] = v;
    }
    return out;
  };

/** Uniform in [−bound, bound). */
export const uniform =
  (bound: number): Initializer =>
  (size, rng) => {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = (2 * rng.uniform() - 1) * bound;
    return out;
  };

/**
 * PyTorch's `kaiming_uniform_(w, a)`: bound = gain·√(3/fanIn) with gain = √(2/(1+a²)); with
 * a = √5 (PyTorch's default for Linear/Conv and CLUENet's gate) the bound is 1/√fanIn.
 */
export function kaimingUniform(fanIn: number, a = Math.sqrt(5)): Initializer {
  const gain = Math.sqrt(2 / (1 + a * a));
  return uniform(gain * Math.sqrt(3 / fanIn));
}

/**
 * He normal on fan-out, the official CLUENet convolution init:
 * normal(0, √(2/fan_out)) with fan_out = kh·kw·out/groups.
 */
export function heNormalFanOut(fanOut: number): Initializer {
  return normal(Math.sqrt(2 / fanOut));
}

/** Initialisers for the weights of each kind of layer; a model family picks one scheme. */
export interface InitScheme {
  /** nn.Linear(inFeatures → outFeatures). */
  linear(inFeatures: number, outFeatures: number): { weight: Initializer; bias: Initializer };
  /** nn.Conv2d with a kernel×kernel window (1×1 convolutions too). */
  conv(kernel: number, inChannels: number, outChannels: number, groups: number): { weight: Initializer; bias: Initializer };
}

/** PyTorch's own defaults: kaiming_uniform(a=√5) weights and U(±1/√fanIn) biases. */
export const pytorchDefault: InitScheme = {
  linear: (inFeatures) => ({ weight: kaimingUniform(inFeatures), bias: uniform(1 / Math.sqrt(inFeatures)) }),
  conv: (kernel, inChannels, _out, groups) => {
    const fanIn = (inChannels / groups) * kernel * kernel;
    return { weight: kaimingUniform(fanIn), bias: uniform(1 / Math.sqrt(fanIn)) };
  },
};

/** What a layer needs to initialise itself: the random stream and the family's scheme. */
export interface Build {
  rng: Rng;
  init: InitScheme;
}
