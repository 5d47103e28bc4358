/** Downsampling between stages: Improved Cluster Pooling, FEC's cluster pooling, a strided conv. */
import { clusterMean, nearestCenter, passAndPool, tf } from "../engine/index.js";
import { Conv2d, GroupNorm, LayerNorm, Linear, Module, ModuleList, gelu, type Build } from "../nn/index.js";

/** A downsampling layer: [B, H, W, Ci] → [B, H/2, W/2, Co], with the argmax it took, if any. */
export interface Downsample extends Module {
  forward(x: tf.Tensor4D): { x: tf.Tensor4D; index: tf.Tensor2D | null };
}

/** Each pooled pixel is a center; every input pixel joins its most similar center, anywhere. */
function clusterPool(s: tf.Tensor4D, values: tf.Tensor4D): { agg: tf.Tensor4D; index: tf.Tensor2D } {
  const [b, h, w] = s.shape;
  const oh = h / 2;
  const ow = w / 2;
  const rows = (t: tf.Tensor4D, r: number): tf.Tensor3D => tf.reshape(t, [b, r, t.shape[3]]);
  // Equal 2×2 windows (the callers check the sides are even): a map and its pool from one op,
  // whose gradient is written once instead of an AvgPoolGrad and an Add over the map.
  const shared = values === s;
  let centers: tf.Tensor4D, valueCenters: tf.Tensor4D;
  [s, centers] = passAndPool(s, [oh, ow]);
  [values, valueCenters] = shared ? [s, centers] : passAndPool(values, [oh, ow]);
  // Nearest center by cosine, then each center's mean with its members: one kernel each where the
  // engine has them, the one-hot products (hardAssign + hardAggregate) everywhere else.
  const index = nearestCenter(rows(s, h * w), rows(centers, oh * ow));
  const agg = clusterMean(index, rows(values, h * w), rows(valueCenters, oh * ow));
  return { agg: tf.reshape(agg, [b, oh, ow, values.shape[3]]), index };
}

function checkEven(x: tf.Tensor4D, what: string): void {
  const [, h, w] = x.shape;
  if (h % 2 !== 0 || w % 2 !== 0) {
    throw new Error(
      `${what} halves a ${h}×${w} map, which needs even sides; feed inputs whose size after the stem is divisible by 8 (e.g. 32×32, 224×224)`,
    );
  }
}

/**
 * Improved Cluster Pooling (the official `ClusterPool`: conv_skip, conv_f, conv_v.0/.2, norm1,
 * norm2): s = conv_f(x) serves as both clustering features and values; centers = 2×2 average
 * pools of s; each pixel joins its most cosine-similar center anywhere in the map;
 * agg[m] = (Σ s[n] + centers[m]) / (count + 1); out = conv_skip(x) + [norm2](conv_v(norm1(agg))).
 */
export class ImprovedClusterPool extends Module implements Downsample {
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm | null;
  readonly convF: Linear;
  readonly convV: ModuleList<Linear>;
  readonly convSkip: Conv2d;

  constructor(build: Build, inChannels: number, outChannels: number, norm2: boolean) {
    super();
    this.norm1 = this.module("norm1", new LayerNorm(build, inChannels));
    this.norm2 = norm2 ? this.module("norm2", new LayerNorm(build, outChannels)) : null;
    this.convF = this.module("conv_f", new Linear(build, inChannels, inChannels, { pointwise: true }));
    this.convV = this.module("conv_v", new ModuleList<Linear>());
    this.convV.add(new Linear(build, inChannels, inChannels, { pointwise: true }), 0);
    this.convV.add(new Linear(build, inChannels, outChannels, { pointwise: true }), 2); // index 1 is the GELU
    this.convSkip = this.module("conv_skip", new Conv2d(build, inChannels, outChannels, 3, 2, 1));
  }

  forward(x: tf.Tensor4D): { x: tf.Tensor4D; index: tf.Tensor2D } {
    checkEven(x, "Improved Cluster Pooling");
    const identity = this.convSkip.forward(x);
    const s = this.convF.forward(x) as tf.Tensor4D;
    const { agg, index } = clusterPool(s, s);
    const [fc1, fc2] = this.convV.items as [Linear, Linear];
    let out = fc2.forward(gelu(fc1.forward(this.norm1.forward(agg)))) as tf.Tensor4D;
    if (this.norm2) out = this.norm2.forward(out);
    return { x: tf.add(identity, out), index };
  }
}

/**
 * FEC's cluster pooling (models/ClusteringParadigm/fec.py `ClusterPool`, one fold): separate
 * similarity (conv_f) and value (conv_v) 1×1 convs Ci → Co, no MLP; out = conv_skip(x) + norm2(agg)
 * with GroupNorm(1).
 */
export class FecPool extends Module implements Downsample {
  readonly norm2: GroupNorm;
  readonly convF: Linear;
  readonly convV: Linear;
  readonly convSkip: Conv2d;

  constructor(build: Build, inChannels: number, outChannels: number) {
    super();
    this.norm2 = this.module("norm2", new GroupNorm(build, outChannels));
    this.convF = this.module("conv_f", new Linear(build, inChannels, outChannels, { pointwise: true }));
    this.convV = this.module("conv_v", new Linear(build, inChannels, outChannels, { pointwise: true }));
    this.convSkip = this.module("conv_skip", new Conv2d(build, inChannels, outChannels, 3, 2, 1));
  }

  forward(x: tf.Tensor4D): { x: tf.Tensor4D; index: tf.Tensor2D } {
    checkEven(x, "FEC cluster pooling");
    const identity = this.convSkip.forward(x);
    const value = this.convV.forward(x) as tf.Tensor4D;
    const { agg, index } = clusterPool(this.convF.forward(x) as tf.Tensor4D, value);
    return { x: tf.add(identity, this.norm2.forward(agg)), index };
  }
}

/** A 3×3 stride-2 convolution (Context Clusters' `PointRecuder` between stages, no norm). */
export class StridedConv extends Module implements Downsample {
  readonly proj: Conv2d;

  constructor(build: Build, inChannels: number, outChannels: number) {
    super();
    this.proj = this.module("proj", new Conv2d(build, inChannels, outChannels, 3, 2, 1));
  }

  forward(x: tf.Tensor4D): { x: tf.Tensor4D; index: null } {
    return { x: this.proj.forward(x), index: null };
  }
}
