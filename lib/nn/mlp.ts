/** The MetaFormer channel MLP. */
import { depthwiseConv2dBiasGelu, gelu, tf } from "../engine/index.js";
import { DepthwiseConv2d } from "./conv.js";
import type { Build } from "./init.js";
import { Linear } from "./linear.js";
import { Module } from "./module.js";

/** The official `DWConv` wrapper, kept so the parameter names are `dwconv.dwconv.*`. */
class DWConv extends Module {
  readonly dwconv: DepthwiseConv2d;

  constructor(build: Build, channels: number) {
    super();
    this.dwconv = this.module("dwconv", new DepthwiseConv2d(build, channels, 3));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.dwconv.forward(x);
  }

  /** gelu(forward(x)) as one fused op (the MLP's hidden maps are a CLUENet's largest tensors). */
  forwardGelu(x: tf.Tensor4D): tf.Tensor4D {
    const { weight, bias, kernel } = this.dwconv;
    return depthwiseConv2dBiasGelu(x, weight as tf.Tensor4D, bias as tf.Tensor1D, 1, (kernel - 1) / 2);
  }
}

/**
 * fc1 (C → hidden) → [depthwise 3×3] → GELU → fc2 (hidden → C) on a channels-last map.
 * With the depthwise convolution it is PVTv2's MLP (CLUENet); without it, Context Clusters'.
 */
export class Mlp extends Module {
  readonly fc1: Linear;
  readonly dwconv: DWConv | null;
  readonly fc2: Linear;

  constructor(build: Build, channels: number, hidden: number, options: { depthwise: boolean }) {
    super();
    this.fc1 = this.module("fc1", new Linear(build, channels, hidden));
    this.dwconv = options.depthwise ? this.module("dwconv", new DWConv(build, hidden)) : null;
    this.fc2 = this.module("fc2", new Linear(build, hidden, channels));
  }

  /** x [B, H, W, C] → [B, H, W, C]. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const h = this.fc1.forward(x) as tf.Tensor4D;
    return this.fc2.forward(this.dwconv ? this.dwconv.forwardGelu(h) : gelu(h)) as tf.Tensor4D;
  }
}
