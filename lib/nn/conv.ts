/** Convolutions on channels-last (NHWC) maps with PyTorch's symmetric zero padding. */
import { conv2dBias, depthwiseConv2dBias, tf } from "../engine/index.js";
import type { Build } from "./init.js";
import { WeightLayout } from "./layout.js";
import { Module } from "./module.js";

/**
 * nn.Conv2d(in, out, kernel, stride, padding) with a bias. `padding` pads every side by that
 * many zeros, as PyTorch does (TensorFlow's "same" pads stride-2 maps asymmetrically, which would
 * shift every output pixel).
 */
export class Conv2d extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    build: Build,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    readonly stride = 1,
    readonly padding = 0,
  ) {
    super();
    const init = build.init.conv(kernel, inChannels, outChannels, 1);
    this.weight = this.param("weight", [kernel, kernel, inChannels, outChannels], init.weight, build.rng, WeightLayout.conv);
    this.bias = this.param("bias", [outChannels], init.bias, build.rng);
  }

  /** x [B, H, W, in] → [B, H', W', out]. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return conv2dBias(x, this.weight as tf.Tensor4D, this.bias as tf.Tensor1D, this.stride, this.padding);
  }
}

/** Depthwise nn.Conv2d(C, C, kernel, 1, kernel//2, groups=C) with a bias: each channel its own filter. */
export class DepthwiseConv2d extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    build: Build,
    readonly channels: number,
    readonly kernel = 3,
  ) {
    super();
    const init = build.init.conv(kernel, channels, channels, channels);
    this.weight = this.param("weight", [kernel, kernel, channels, 1], init.weight, build.rng, WeightLayout.depthwise);
    this.bias = this.param("bias", [channels], init.bias, build.rng);
  }

  /** x [B, H, W, C] → [B, H, W, C]. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return depthwiseConv2dBias(x, this.weight as tf.Tensor4D, this.bias as tf.Tensor1D, 1, (this.kernel - 1) / 2);
  }
}
