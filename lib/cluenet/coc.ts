/** Context Clusters' token mixer (ma-xu/Context-Cluster `Cluster`), the baseline CLUENet improves on. */
import { mergeHeads, splitHeads, tf } from "../engine/index.js";
import { Linear, Module, ones, zeros, type Build } from "../nn/index.js";
import { ConstantCache } from "./constants.js";
import type { Assignment, MixerOutput, TokenMixer } from "./mixer.js";
import { cosineToCenters, dispatch, hardAggregate, hardAssign, l2Normalize } from "./ops.js";
import { adaptiveAvgPool, foldPenalty } from "./pooling.js";

export interface CocOptions {
  dim: number;
  heads: number;
  headDim: number;
  /** The whole grid of centers: folds × proposals per side. */
  clusters: readonly [number, number];
  folds: number;
}

/**
 * Parameters f, v, proj, sim_alpha, sim_beta. In every block, per head and fold region:
 *   centers, Vc = adaptive pools of f(x), v(x); S = sigmoid(β + α·cos(centers, f(x))) kept at
 *   each pixel's best center of its region; c[m] = (Σ_n S[n,m]·v[n] + Vc[m]) / (Σ_n S[n,m] + 1);
 *   out = proj(S·c).
 * The fold regions are a mask over the global grid of centers instead of a rearrange: the same sums.
 */
export class CocCluster extends Module implements TokenMixer {
  readonly f: Linear;
  readonly proj: Linear;
  readonly v: Linear;
  readonly simAlpha: tf.Variable;
  readonly simBeta: tf.Variable;
  readonly #constants = new ConstantCache();

  constructor(
    build: Build,
    private readonly options: CocOptions,
  ) {
    super();
    const { dim, heads, headDim } = options;
    this.simAlpha = this.param("sim_alpha", [1], ones, build.rng);
    this.simBeta = this.param("sim_beta", [1], zeros, build.rng);
    this.f = this.module("f", new Linear(build, dim, heads * headDim, { pointwise: true }));
    this.proj = this.module("proj", new Linear(build, heads * headDim, dim, { pointwise: true }));
    this.v = this.module("v", new Linear(build, dim, heads * headDim, { pointwise: true }));
  }

  forward(x: tf.Tensor4D, _shared: Assignment | null): MixerOutput {
    const [b, h, w] = x.shape;
    const { heads, headDim: d, clusters, folds } = this.options;
    const [ch, cw] = clusters;
    const n = h * w;
    const m = ch * cw;
    const value = this.v.forward(x) as tf.Tensor4D;
    const feat = this.f.forward(x) as tf.Tensor4D;
    const fh = splitHeads(feat, b, n, heads, d);
    const vh = splitHeads(value, b, n, heads, d);
    const centers = splitHeads(adaptiveAvgPool(feat, ch, cw, folds), b, m, heads, d);
    const vc = splitHeads(adaptiveAvgPool(value, ch, cw, folds), b, m, heads, d);
    const sim = tf.sigmoid(tf.add(this.simBeta, tf.mul(this.simAlpha, cosineToCenters(l2Normalize(fh), centers)))) as tf.Tensor3D;
    const penalty = folds === 1 ? undefined : this.#constants.get(`${h}x${w}`, () => foldPenalty(h, w, ch, cw, folds)!);
    const { mask, index } = hardAssign(sim, penalty);
    const S = tf.mul(sim, mask) as tf.Tensor3D;
    // The aggregation weighs every pixel by S; dispatching needs only each row's one non-zero.
    const assignment = { index, score: tf.sum(S, 2) as tf.Tensor2D, weights: S };
    const out = mergeHeads(dispatch(assignment, hardAggregate(S, vh, vc)), b, n, heads, d);
    return { out: this.proj.forward(tf.reshape(out, [b, h, w, heads * d])) as tf.Tensor4D, assignment };
  }

  disposeConstants(): void {
    this.#constants.dispose();
  }
}
