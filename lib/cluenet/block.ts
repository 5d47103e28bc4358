/** The MetaFormer cluster block and a stage of them. */
import { residual, tf } from "../engine/index.js";
import { GroupNorm, LayerNorm, Mlp, Module, ModuleList, constant, dropPathMask, type Build, type Norm, type Rng } from "../nn/index.js";
import type { Assignment, TokenMixer } from "./mixer.js";

/** What a forward pass needs besides the input. */
export interface RunContext {
  training: boolean;
  /** Drop-path coin flips. */
  rng: Rng;
}

export interface BlockOptions {
  dim: number;
  mlpRatio: number;
  dropPath: number;
  norm: "layer" | "group";
  /** Layer-scale initial value, or null for none. */
  layerScale: number | null;
  /** PVTv2's depthwise conv inside the MLP. */
  depthwiseMlp: boolean;
}

/** tf.tidy for a function returning an object of tensors: everything else it made is freed. */
export function keepOnly<T extends object>(fn: () => T): T {
  return tf.tidy(() => fn() as unknown as tf.TensorContainer) as unknown as T;
}

export function makeNorm(build: Build, kind: "layer" | "group", channels: number): Norm {
  return kind === "layer" ? new LayerNorm(build, channels) : new GroupNorm(build, channels);
}

/**
 * x += DropPath(γ₁·mixer(norm1(x))); x += DropPath(γ₂·mlp(norm2(x))), the official `ClusterBlock`
 * (γ = layer scale, only in the Context Clusters family).
 */
export class ClusterBlock extends Module {
  readonly norm1: Norm;
  readonly tokenMixer: Module & TokenMixer;
  readonly norm2: Norm;
  readonly mlp: Mlp;
  readonly layerScale1: tf.Variable | null;
  readonly layerScale2: tf.Variable | null;

  constructor(build: Build, mixer: Module & TokenMixer, private readonly options: BlockOptions) {
    super();
    const { dim, layerScale } = options;
    this.layerScale1 = layerScale === null ? null : this.param("layer_scale_1", [dim], constant(layerScale), build.rng);
    this.layerScale2 = layerScale === null ? null : this.param("layer_scale_2", [dim], constant(layerScale), build.rng);
    this.norm1 = this.module("norm1", makeNorm(build, options.norm, dim));
    this.tokenMixer = this.module("token_mixer", mixer);
    this.norm2 = this.module("norm2", makeNorm(build, options.norm, dim));
    this.mlp = this.module("mlp", new Mlp(build, dim, Math.floor(dim * options.mlpRatio), { depthwise: options.depthwiseMlp }));
  }

  forward(x: tf.Tensor4D, shared: Assignment | null, ctx: RunContext): { x: tf.Tensor4D; assignment: Assignment } {
    // A scope per block frees the block's intermediates as soon as it ends; what the backward
    // pass needs the gradient tape has kept on its own.
    return keepOnly(() => {
      // x and y each feed a norm and a skip: the norms' tees pass them through, so each one's
      // gradient from both uses is summed in the norm's backward kernel (no Add over the map).
      const [skip1, n1] = this.norm1.forwardTee(x) as [tf.Tensor4D, tf.Tensor4D];
      const { out, assignment } = this.tokenMixer.forward(n1, shared);
      // Each update x + DropPath(γ·branch) is one fused op; the masks are drawn in the same
      // order as before (the same coin flips from the same seed).
      const mask = () => dropPathMask(x.shape[0], this.options.dropPath, ctx.training, ctx.rng);
      const y = residual(skip1, out, this.layerScale1 as tf.Tensor1D | null, mask());
      const [skip2, n2] = this.norm2.forwardTee(y) as [tf.Tensor4D, tf.Tensor4D];
      const mlp = this.mlp.forward(n2);
      return { x: residual(skip2, mlp, this.layerScale2 as tf.Tensor1D | null, mask()), assignment };
    });
  }
}

/**
 * A stage: its blocks in order, the first block's assignment handed to the next ones (which
 * reuse it when they have no assignment parameters of their own). CLUENet names the blocks
 * `blocks.j.*` (its `basic_blocks` module); Context Clusters' stage is the list itself (`j.*`).
 */
export class Stage extends Module {
  constructor(
    readonly blocks: readonly ClusterBlock[],
    nested: boolean,
  ) {
    super();
    if (nested) {
      const list = this.module("blocks", new ModuleList<ClusterBlock>());
      for (const block of blocks) list.add(block);
    } else {
      blocks.forEach((block, j) => this.module(String(j), block));
    }
  }

  /** Returns the output and the first block's assignment. */
  forward(x: tf.Tensor4D, ctx: RunContext): { x: tf.Tensor4D; first: Assignment } {
    let shared: Assignment | null = null;
    let first: Assignment | null = null;
    for (const block of this.blocks) {
      const r = block.forward(x, shared, ctx);
      x = r.x;
      shared = r.assignment;
      first ??= r.assignment;
    }
    return { x, first: first! };
  }

  disposeConstants(): void {
    for (const block of this.blocks) block.tokenMixer.disposeConstants();
  }
}
