/**
 * A small convolutional encoder for 28×28-class images (Fashion-MNIST, MNIST): three 3×3
 * convolution stages with GroupNorm and ReLU, max-pooling between them, global average pooling.
 * Built from `lib/nn` layers, seeded; a backbone worth refining that trains in minutes on a CPU.
 */
import { tf } from "../../engine/index.js";
import { Conv2d, GroupNorm, Module, Rng, pytorchDefault, type Build } from "../../nn/index.js";
import type { Encoder } from "../encoder.js";

/** Options of {@link smallCnn}. */
export interface SmallCnnOptions {
  /** Input channels (1 for grey images). */
  inChannels?: number;
  /** Channels of the three stages (default [32, 64, 128]); the embedding has the last one's size. */
  channels?: readonly [number, number, number];
  /** Seed of the initial weights (default 0). */
  seed?: number;
}

class SmallCnn extends Module {
  private readonly convs: Conv2d[];
  private readonly norms: GroupNorm[];

  constructor(build: Build, inChannels: number, channels: readonly number[]) {
    super();
    const widths = [inChannels, ...channels];
    this.convs = channels.map((c, i) => this.module(`conv${i}`, new Conv2d(build, widths[i]!, c, 3, 1, 1)));
    this.norms = channels.map((c, i) => this.module(`norm${i}`, new GroupNorm(build, c)));
  }

  /** x [B, H, W, C] → [B, channels[2]]. */
  forward(x: tf.Tensor4D): tf.Tensor2D {
    let h = x;
    this.convs.forEach((conv, i) => {
      h = tf.relu(this.norms[i]!.forward(conv.forward(h)));
      if (i < this.convs.length - 1) h = tf.maxPool(h, 2, 2, "valid"); // 28 → 14 → 7
    });
    return tf.mean(h, [1, 2]) as tf.Tensor2D;
  }
}

/**
 * A small CNN {@link Encoder}: conv3×3 → GroupNorm → ReLU → max-pool, three times (no pool after
 * the last), then global average pooling; embeddings have `channels[2]` dimensions.
 */
export function smallCnn(options: SmallCnnOptions = {}): Encoder & { countParams(): number } {
  const { inChannels = 1, channels = [32, 64, 128], seed = 0 } = options;
  if (!channels.every((c) => Number.isInteger(c) && c > 0) || channels.length !== 3) {
    throw new RangeError(`smallCnn: channels must be three positive integers, got [${channels.join(", ")}]`);
  }
  const model = new SmallCnn({ rng: new Rng(seed), init: pytorchDefault }, inChannels, channels);
  const variables = model.namedParameters().map(([, p]) => p.variable);
  return {
    embed: (inputs) => {
      if (inputs.rank !== 4 || inputs.shape[3] !== inChannels) {
        throw new RangeError(`smallCnn expects images [batch, height, width, ${inChannels}], got [${inputs.shape.join(", ")}]`);
      }
      return model.forward(inputs as tf.Tensor4D);
    },
    trainableVariables: variables,
    dispose: () => model.dispose(),
    countParams: () => model.countParams(),
  };
}
