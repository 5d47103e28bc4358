/** Normalisations over channels-last maps, eps 1e-5 and biased variance as in PyTorch. */
import { tf } from "../engine/index.js";
import type { Build } from "./init.js";
import { ones, zeros } from "./init.js";
import { Module } from "./module.js";

const EPS = 1e-5;

/** nn.LayerNorm(C) over the last axis (CLUENet's LayerNorm over the channels of each pixel). */
export class LayerNorm extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    build: Build,
    readonly channels: number,
  ) {
    super();
    this.weight = this.param("weight", [channels], ones, build.rng);
    this.bias = this.param("bias", [channels], zeros, build.rng);
  }

  forward<T extends tf.Tensor>(x: T): T {
    const axis = x.rank - 1;
    const { mean, variance } = tf.moments(x, axis, true);
    const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPS)));
    return tf.add(tf.mul(normed, this.weight), this.bias) as T;
  }
}

/** nn.GroupNorm(1, C): normalises each sample over all of H, W, C, then scales per channel. */
export class GroupNorm extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    build: Build,
    readonly channels: number,
  ) {
    super();
    this.weight = this.param("weight", [channels], ones, build.rng);
    this.bias = this.param("bias", [channels], zeros, build.rng);
  }

  /** x [B, H, W, C]. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const { mean, variance } = tf.moments(x, [1, 2, 3], true);
    const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPS)));
    return tf.add(tf.mul(normed, this.weight), this.bias);
  }
}

/** A channels-last normalisation layer of either kind. */
export type Norm = LayerNorm | GroupNorm;
