/** CLUENet's multi-head gate: how much of each center comes from the pooled local value. */
import { gatedMix, tf } from "../engine/index.js";
import { GroupLinear, Module, gelu, type Build } from "../nn/index.js";

/**
 * g = sigmoid(W2·gelu(W1·[Ca ; Vc] + b1) + b2) per head, W1: 2d → ⌊d/2⌋, W2: ⌊d/2⌋ → 1 (the
 * official `MultiHeadGate`, parameters `fc1.*`, `fc2.*` of shape [heads, out, in]).
 */
export class MultiHeadGate extends Module {
  readonly fc1: GroupLinear;
  readonly fc2: GroupLinear;

  constructor(build: Build, headDim: number, readonly heads: number) {
    super();
    const hidden = Math.floor(headDim / 2);
    this.fc1 = this.module("fc1", new GroupLinear(build, heads, 2 * headDim, hidden));
    this.fc2 = this.module("fc2", new GroupLinear(build, heads, hidden, 1));
  }

  /**
   * The gate values alone, for looking inside (the model's forward pass runs {@link mix}, which
   * computes the same g inside one fused op): aggregated, pooled [heads, R, d] (R rows per head)
   * → g [heads, R, 1].
   */
  forward(aggregated: tf.Tensor3D, pooled: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => tf.sigmoid(this.fc2.forward(gelu(this.fc1.forward(tf.concat([aggregated, pooled], 2))))));
  }

  /**
   * The gated centers (1 − g)·Ca + g·Vc [heads·B, M, d], one gate per center: aggregated Ca as
   * groups [heads·B, M, d] (group h·B + b is head h), pooled Vc as channels-last rows
   * [B, M, heads·d] (the engine's fused gatedMix splits them).
   */
  mix(aggregated: tf.Tensor3D, pooledRows: tf.Tensor3D): tf.Tensor3D {
    const [w1, b1, w2, b2] = [this.fc1.weight, this.fc1.bias, this.fc2.weight, this.fc2.bias] as tf.Tensor3D[];
    return gatedMix(aggregated, pooledRows, { w1: w1!, b1: b1!, w2: w2!, b2: b2! }, { heads: this.heads });
  }
}
