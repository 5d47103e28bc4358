/** Normalisations over channels-last maps, eps 1e-5 and biased variance as in PyTorch. */
import { layerNorm, layerNormTee, normalizeAffine, tf } from "../engine/index.js";
import type { Build } from "./init.js";
import { ones, zeros } from "./init.js";
import { Module } from "./module.js";

const EPS = 1e-5;

/** Normalises over some axes, then scales and shifts each channel (parameters `weight`, `bias`). */
abstract class ChannelAffineNorm extends Module {
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
}

/** nn.LayerNorm(C) over the last axis (CLUENet's LayerNorm over the channels of each pixel). */
export class LayerNorm extends ChannelAffineNorm {
  forward<T extends tf.Tensor>(x: T): T {
    return layerNorm(x, this.weight as tf.Tensor1D, this.bias as tf.Tensor1D, EPS);
  }

  /**
   * `[x, norm(x)]` for an x that also feeds a residual skip: the first is x (sharing its storage),
   * and x's gradient from both uses is summed inside the norm's backward kernel, not by an Add.
   */
  forwardTee<T extends tf.Tensor>(x: T): [T, T] {
    return layerNormTee(x, this.weight as tf.Tensor1D, this.bias as tf.Tensor1D, EPS);
  }
}

/** nn.GroupNorm(1, C): normalises each sample over all of H, W, C, then scales per channel. */
export class GroupNorm extends ChannelAffineNorm {
  /** x [B, H, W, C]. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return normalizeAffine(x, this.weight as tf.Tensor1D, this.bias as tf.Tensor1D, [1, 2, 3], EPS);
  }

  /** `[x, norm(x)]`, as {@link LayerNorm.forwardTee} (the first a copy of x sharing its storage; its gradient summed by the tape). */
  forwardTee(x: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    return [tf.clone(x), this.forward(x)];
  }
}

/** A channels-last normalisation layer of either kind. */
export type Norm = LayerNorm | GroupNorm;
