/**
 * How a parameter's tensor in our layout (NHWC-friendly: HWIO convolutions, [in, out] matrices)
 * maps to the official PyTorch layout (OIHW convolutions, [out, in] matrices), explicitly, so
 * weights load from and save to PyTorch state_dicts without guessing.
 */
import { tf } from "../engine/index.js";

export class WeightLayout {
  /**
   * @param kind a name for messages
   * @param perm axes of our tensor in the order of the official one (null: none)
   * @param official the official shape for our shape
   */
  private constructor(
    readonly kind: string,
    private readonly perm: readonly number[] | null,
    private readonly official: (ours: readonly number[]) => number[],
  ) {}

  /** The official (PyTorch) shape of a parameter whose shape is `ours` here. */
  officialShape(ours: readonly number[]): number[] {
    return this.official(ours);
  }

  /** Our tensor → the official layout. */
  toOfficial(t: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.reshape(this.perm ? tf.transpose(t, [...this.perm]) : t, this.official(t.shape)));
  }

  /** An official-layout tensor → ours, of shape `ours`. */
  fromOfficial(t: tf.Tensor, ours: readonly number[]): tf.Tensor {
    return tf.tidy(() => {
      if (!this.perm) return tf.reshape(t, [...ours]);
      const permuted = this.perm.map((axis) => ours[axis]!);
      const inverse = this.perm.map((_, i) => this.perm!.indexOf(i));
      return tf.transpose(tf.reshape(t, permuted), inverse);
    });
  }

  /** Same shape and order (biases, norms, scalars). */
  static readonly same = new WeightLayout("same", null, (s) => [...s]);
  /** Same element order, another shape (e.g. ours [G, 1, out] for PyTorch's [G, out]). */
  static reshaped(official: readonly number[]): WeightLayout {
    return new WeightLayout(`reshape→[${official.join(",")}]`, null, () => [...official]);
  }
  /** nn.Linear: ours [in, out], official [out, in]. */
  static readonly linear = new WeightLayout("linear", [1, 0], ([i, o]) => [o!, i!]);
  /** A 1×1 nn.Conv2d computed as a matrix product: ours [in, out], official [out, in, 1, 1]. */
  static readonly pointwise = new WeightLayout("pointwise", [1, 0], ([i, o]) => [o!, i!, 1, 1]);
  /** nn.Conv2d: ours HWIO [kh, kw, in, out], official OIHW [out, in, kh, kw]. */
  static readonly conv = new WeightLayout("conv", [3, 2, 0, 1], ([h, w, i, o]) => [o!, i!, h!, w!]);
  /** Depthwise nn.Conv2d (groups = channels): ours [kh, kw, C, 1], official [C, 1, kh, kw]. */
  static readonly depthwise = new WeightLayout("depthwise", [2, 3, 0, 1], ([h, w, c, m]) => [c!, m!, h!, w!]);
  /** A per-group linear map: ours [G, in, out], official [G, out, in]. */
  static readonly groupLinear = new WeightLayout("groupLinear", [0, 2, 1], ([g, i, o]) => [g!, o!, i!]);
}
