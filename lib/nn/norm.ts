/** Normalisations over channels-last maps, eps 1e-5 and biased variance as in PyTorch. */
import { tf } from "../engine/index.js";
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

  protected normalize<T extends tf.Tensor>(x: T, axes: number[]): T {
    return affineNorm(axes)(x, this.weight, this.bias) as T;
  }
}

const ops = new Map<string, (x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor) => tf.Tensor>();

/**
 * y = (x − mean)·rstd·γ + β over `axes` (γ, β along the last axis) as one taped op keeping only
 * x̂ and rstd for the backward pass:
 *   g = dy·γ;  dx = rstd·(g − mean(g) − x̂·mean(g·x̂));  dγ = Σ dy·x̂;  dβ = Σ dy.
 */
function affineNorm(axes: number[]): (x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor) => tf.Tensor {
  const key = axes.join(",");
  let op = ops.get(key);
  if (!op) {
    op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [x, weight, bias] = args as [tf.Tensor, tf.Tensor, tf.Tensor];
      const save = args[3] as tf.GradSaveFunc;
      const [xhat, rstd] = tf.tidy(() => {
        const { mean, variance } = tf.moments(x, axes, true);
        const r = tf.rsqrt(tf.add(variance, EPS));
        return [tf.mul(tf.sub(x, mean), r), r];
      });
      save([xhat!, rstd!, weight]);
      return {
        value: tf.tidy(() => tf.add(tf.mul(xhat!, weight), bias)),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          tf.tidy(() => {
            const [xh, r, w] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
            const g = tf.mul(dy, w);
            const dx = tf.mul(r, tf.sub(tf.sub(g, tf.mean(g, axes, true)), tf.mul(xh, tf.mean(tf.mul(g, xh), axes, true))));
            const outer = Array.from({ length: dy.rank - 1 }, (_, i) => i);
            return [dx, tf.sum(tf.mul(dy, xh), outer), tf.sum(dy, outer)];
          }),
      };
    }) as (x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor) => tf.Tensor;
    ops.set(key, op);
  }
  return op;
}

/** nn.LayerNorm(C) over the last axis (CLUENet's LayerNorm over the channels of each pixel). */
export class LayerNorm extends ChannelAffineNorm {
  forward<T extends tf.Tensor>(x: T): T {
    return this.normalize(x, [x.rank - 1]);
  }
}

/** nn.GroupNorm(1, C): normalises each sample over all of H, W, C, then scales per channel. */
export class GroupNorm extends ChannelAffineNorm {
  /** x [B, H, W, C]. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.normalize(x, [1, 2, 3]);
  }
}

/** A channels-last normalisation layer of either kind. */
export type Norm = LayerNorm | GroupNorm;
