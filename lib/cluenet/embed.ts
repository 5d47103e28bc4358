/** The input side: coordinate channels, the stem (`patch_embed`) and the positional conv (`pos_embed`). */
import { tf } from "../engine/index.js";
import { Conv2d, DepthwiseConv2d, LayerNorm, Module, ModuleList, type Build } from "../nn/index.js";

/**
 * [H, W, 2] float32 coordinates: channel 0 the row, channel 1 the column, each arange(n)/(n−1) − 0.5
 * (the official `forward_embeddings`).
 */
export function coordinateGrid(h: number, w: number): Float32Array {
  if (h < 2 || w < 2) throw new Error(`coordinate channels need a map of at least 2×2, got ${h}×${w}`);
  const out = new Float32Array(h * w * 2);
  for (let i = 0; i < h; i++) {
    const row = Math.fround(Math.fround(i / (h - 1)) - 0.5);
    for (let j = 0; j < w; j++) {
      out[(i * w + j) * 2] = row;
      out[(i * w + j) * 2 + 1] = Math.fround(Math.fround(j / (w - 1)) - 0.5);
    }
  }
  return out;
}

/** The stem: a convolution of the image with its coordinates, then LayerNorm (CLUENet) or nothing (Context Clusters). */
export class PatchEmbed extends Module {
  readonly proj: Conv2d;
  readonly norm: LayerNorm | null;

  constructor(build: Build, inChannels: number, outChannels: number, stem: { kernel: number; stride: number; pad: number }, norm: boolean) {
    super();
    this.proj = this.module("proj", new Conv2d(build, inChannels, outChannels, stem.kernel, stem.stride, stem.pad));
    this.norm = norm ? this.module("norm", new LayerNorm(build, outChannels)) : null;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const y = this.proj.forward(x);
    return this.norm ? this.norm.forward(y) : y;
  }
}

/** PosCNN: x + depthwise3×3(x) (parameters `proj.0.*`). */
export class PosCNN extends Module {
  readonly conv: DepthwiseConv2d;

  constructor(build: Build, channels: number) {
    super();
    this.conv = this.module("proj", new ModuleList()).add(new DepthwiseConv2d(build, channels, 3));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.add(this.conv.forward(x), x);
  }
}
