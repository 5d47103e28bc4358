/** Dense layers over the last axis: nn.Linear, a 1×1 nn.Conv2d (as a matrix product), grouped linear. */
import { linear, linearPair, tf } from "../engine/index.js";
import type { Build } from "./init.js";
import { kaimingUniform, zeros } from "./init.js";
import { WeightLayout } from "./layout.js";
import { Module } from "./module.js";

/**
 * y = x·W + b over the last axis of a tensor of any rank. With `pointwise: true` it is a 1×1
 * nn.Conv2d on channels-last maps: the same product, stored as PyTorch's [out, in, 1, 1].
 */
export class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(
    build: Build,
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: { pointwise?: boolean; bias?: boolean } = {},
  ) {
    super();
    const pointwise = options.pointwise ?? false;
    const init = pointwise ? build.init.conv(1, inFeatures, outFeatures, 1) : build.init.linear(inFeatures, outFeatures);
    const layout = pointwise ? WeightLayout.pointwise : WeightLayout.linear;
    this.weight = this.param("weight", [inFeatures, outFeatures], init.weight, build.rng, layout);
    this.bias = options.bias === false ? null : this.param("bias", [outFeatures], init.bias, build.rng);
  }

  forward(x: tf.Tensor): tf.Tensor {
    const shape = x.shape;
    if (shape[shape.length - 1] !== this.inFeatures) {
      throw new Error(`Linear expects ${this.inFeatures} features on the last axis, got shape [${shape.join(",")}]`);
    }
    return linear(x, this.weight as tf.Tensor2D, this.bias as tf.Tensor1D | null);
  }

  /**
   * `[first(x), second(x)]` for two layers reading one input (K and V from one map) as one op:
   * x's gradient from both is summed inside its backward kernel, not by an Add over the map.
   */
  static forwardPair(first: Linear, second: Linear, x: tf.Tensor): [tf.Tensor, tf.Tensor] {
    const shape = x.shape;
    if (shape[shape.length - 1] !== first.inFeatures || first.inFeatures !== second.inFeatures) {
      throw new Error(`Linear.forwardPair expects two layers of one input size and that many features on x's last axis; got layers of ${first.inFeatures} and ${second.inFeatures} inputs and x of shape [${shape.join(",")}]`);
    }
    return linearPair(x, first.weight as tf.Tensor2D, first.bias as tf.Tensor1D | null, second.weight as tf.Tensor2D, second.bias as tf.Tensor1D | null);
  }
}

/**
 * One linear map per group (CLUENet's `GroupLinear`: PyTorch weight [G, out, in], bias [G, out]),
 * applied to x of shape [G, rows, in] as one batched matrix product. Weights are initialised with
 * kaiming_uniform(a=√5) over PyTorch's fan-in of a 3-D tensor (out·in), biases with zeros, as the
 * official code does (its model-wide init leaves GroupLinear alone).
 */
export class GroupLinear extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    build: Build,
    readonly groups: number,
    readonly inFeatures: number,
    readonly outFeatures: number,
  ) {
    super();
    const init = kaimingUniform(outFeatures * inFeatures);
    this.weight = this.param("weight", [groups, inFeatures, outFeatures], init, build.rng, WeightLayout.groupLinear);
    this.bias = this.param("bias", [groups, 1, outFeatures], zeros, build.rng, WeightLayout.reshaped([groups, outFeatures]));
  }

  /** x [G, rows, in] → [G, rows, out]. */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.add(tf.matMul(x, this.weight as tf.Tensor3D), this.bias);
  }
}
