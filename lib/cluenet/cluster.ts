/** CLUENet's token mixer: global soft aggregation, gated residual, hard & shared dispatching. */
import { mergeHeads, normalizeAndPool, passAndPool, splitHeads, temperedL2Normalize, tf } from "../engine/index.js";
import { Linear, Module, constant, ones, zeros, type Build } from "../nn/index.js";
import type { CluenetConfig } from "./config.js";
import { ConstantCache } from "./constants.js";
import { MultiHeadGate } from "./gate.js";
import type { Assignment, MixerOutput, TokenMixer } from "./mixer.js";
import { cosineAssign, cosineToCenters, dispatch, hardAggregate, hardAssign, l2Normalize, softAggregate } from "./ops.js";
import { adaptiveAvgPool, foldPenalty } from "./pooling.js";

export interface ClusterOptions {
  dim: number;
  heads: number;
  headDim: number;
  clusters: readonly [number, number];
  folds: number;
  /** Whether this block computes its own assignment (q, sim_alpha, sim_beta), or reuses the stage's. */
  assigns: boolean;
}

/**
 * The official `Cluster` (parameters attn_alpha, sim_alpha, sim_beta, q, k, v, proj, gate.*):
 *   K, V = 1×1(x); Kc, Vc = adaptive average pools of K, V to the cluster grid;
 *   Ca = Σ_n softmax_n(cos(Kc, K)/τ)·V over all pixels, τ = exp(max(attn_alpha, ln minAlpha));
 *   centers = (1−g)·Ca + g·Vc with g the multi-head gate;
 *   S = sigmoid(β + α·cos(q(centers), K)) kept at each pixel's argmax (first block of a stage);
 *   out = proj(S·centers), each pixel its center scaled by its score.
 * Ablations (config): `aggregation: "local-hard"` forms Ca with Context Clusters' hard
 * aggregation inside fold regions (own agg_alpha, agg_beta); `gate: false` uses Ca as the centers;
 * `learnableTemperature: false` fixes τ.
 */
export class Cluster extends Module implements TokenMixer {
  readonly q: Linear | null;
  readonly k: Linear;
  readonly v: Linear;
  readonly proj: Linear;
  readonly gate: MultiHeadGate | null;
  readonly attnAlpha: tf.Variable | null;
  readonly simAlpha: tf.Variable | null;
  readonly simBeta: tf.Variable | null;
  readonly aggAlpha: tf.Variable | null;
  readonly aggBeta: tf.Variable | null;
  readonly #constants = new ConstantCache();

  constructor(
    build: Build,
    private readonly config: CluenetConfig,
    private readonly options: ClusterOptions,
  ) {
    super();
    const { dim, heads, headDim, assigns } = options;
    const inner = heads * headDim;
    const soft = config.aggregation === "global-soft";
    this.attnAlpha =
      soft && config.learnableTemperature ? this.param("attn_alpha", [], constant(Math.log(config.temperature)), build.rng) : null;
    this.simAlpha = assigns ? this.param("sim_alpha", [1], ones, build.rng) : null;
    this.simBeta = assigns ? this.param("sim_beta", [1], zeros, build.rng) : null;
    this.aggAlpha = soft ? null : this.param("agg_alpha", [1], ones, build.rng);
    this.aggBeta = soft ? null : this.param("agg_beta", [1], zeros, build.rng);
    this.q = assigns ? this.module("q", new Linear(build, inner, inner)) : null;
    this.k = this.module("k", new Linear(build, dim, inner, { pointwise: true }));
    this.v = this.module("v", new Linear(build, dim, inner, { pointwise: true }));
    this.proj = this.module("proj", new Linear(build, inner, dim, { pointwise: true }));
    this.gate = config.gate ? this.module("gate", new MultiHeadGate(build, headDim, heads)) : null;
  }

  forward(x: tf.Tensor4D, shared: Assignment | null): MixerOutput {
    const [b, h, w] = x.shape;
    const { heads, headDim: d, clusters, folds } = this.options;
    const [ch, cw] = clusters;
    const n = h * w;
    const m = ch * cw;
    const inner = heads * d;
    const [K, V] = Linear.forwardPair(this.k, this.v, x) as [tf.Tensor4D, tf.Tensor4D]; // one op: dx summed in its backward kernel
    // The pixel tensors stay channels-last rows [B, N, heads·d]: the fused ops read and write the
    // G = heads·B groups there (layout), so they are never transposed to [G, N, d] and back.
    const layout = { heads };
    const rows = (t: tf.Tensor, r: number) => tf.reshape(t, [b, r, inner]) as tf.Tensor3D;
    // kn (per head) and vn, and the pooled Kc, Vc — channels-last rows [B, M, heads·d] too where
    // the fused ops split them. Equal windows: one op per map gives both uses (and writes dK, dV
    // once in the backward pass); other sizes pool with the exact averaging matrices.
    let kn: tf.Tensor3D, vn: tf.Tensor3D, kcRows: tf.Tensor3D, vcRows: tf.Tensor3D;
    if (folds === 1 && h % ch === 0 && w % cw === 0) {
      const [knMap, kc] = normalizeAndPool(K, heads, clusters);
      const [vMap, vc] = passAndPool(V, clusters);
      [kn, vn, kcRows, vcRows] = [rows(knMap, n), rows(vMap, n), rows(kc, m), rows(vc, m)];
    } else {
      kn = rows(l2Normalize(tf.reshape(K, [b, n * heads, d])), n);
      vn = rows(V, n);
      kcRows = rows(adaptiveAvgPool(K, ch, cw, folds), m);
      vcRows = rows(adaptiveAvgPool(V, ch, cw, folds), m);
    }

    let centers: tf.Tensor3D; // [G, M, d]
    if (this.config.aggregation === "global-soft") {
      const alpha = this.attnAlpha ?? tf.scalar(Math.log(this.config.temperature));
      centers = softAggregate(temperedL2Normalize(kcRows, alpha as tf.Scalar, Math.log(this.config.minAlpha), layout), kn, vn, layout);
    } else {
      const kh = splitHeads(kn, b, n, heads, d);
      const kc = splitHeads(kcRows, b, m, heads, d);
      const scores = tf.sigmoid(tf.add(this.aggBeta!, tf.mul(this.aggAlpha!, cosineToCenters(kh, kc)))) as tf.Tensor3D;
      const { mask } = hardAssign(scores, this.penalty(h, w) ?? undefined);
      centers = hardAggregate(tf.mul(scores, mask), splitHeads(vn, b, n, heads, d), splitHeads(vcRows, b, m, heads, d));
    }
    if (this.gate) centers = this.gate.mix(centers, vcRows);

    let assignment = shared;
    if (this.q) {
      const qc = splitHeads(this.q.forward(mergeHeads(centers, b, m, heads, d)), b, m, heads, d);
      assignment = cosineAssign(kn, qc, this.simAlpha!, this.simBeta!, layout);
    }
    if (!assignment) throw new Error("a block that reuses its stage's assignment was called without one");
    const out = dispatch(assignment, centers, layout); // [B, N, heads·d]
    return { out: this.proj.forward(tf.reshape(out, [b, h, w, inner])) as tf.Tensor4D, assignment };
  }

  private penalty(h: number, w: number): tf.Tensor2D | null {
    const { clusters, folds } = this.options;
    if (folds === 1) return null;
    return this.#constants.get(`${h}x${w}`, () => foldPenalty(h, w, clusters[0], clusters[1], folds)!);
  }

  disposeConstants(): void {
    this.#constants.dispose();
  }
}
