/** The whole network: coordinates → stem → PosCNN → stages and pools → LayerNorm → mean → head. */
import { tf } from "../engine/index.js";
import {
  Linear, Module, ModuleList, Rng, dropPathSchedule, heNormalFanOut, pytorchDefault, truncNormal, zeros, type Build, type InitScheme, type Norm, type RngState,
} from "../nn/index.js";
import { ClusterBlock, Stage, keepOnly, makeNorm, type RunContext } from "./block.js";
import { Cluster } from "./cluster.js";
import { CocCluster } from "./coc.js";
import type { CluenetConfig } from "./config.js";
import { ConstantCache } from "./constants.js";
import { PatchEmbed, PosCNN, coordinateGrid } from "./embed.js";
import type { Assignment } from "./mixer.js";
import { assignmentMatrix } from "./ops.js";
import { FecPool, ImprovedClusterPool, StridedConv, type Downsample } from "./pool.js";
import { loadState, readWeights, saveState, type StateSource } from "./weights.js";

/** The official CLUENet init: Linear trunc-normal(0.02)/0, Conv normal(0, √(2/fan_out))/0 (norms 1/0, gate kaiming-uniform in place). */
export const CLUENET_INIT: InitScheme = {
  linear: () => ({ weight: truncNormal(0.02), bias: zeros }),
  conv: (kernel, _in, out, groups) => ({ weight: heNormalFanOut((kernel * kernel * out) / groups), bias: zeros }),
};

/** Context Clusters' init: Linear trunc-normal(0.02)/0, convolutions left at PyTorch's defaults. */
export const COC_INIT: InitScheme = {
  linear: () => ({ weight: truncNormal(0.02), bias: zeros }),
  conv: pytorchDefault.conv,
};

/** Skips random initialisation (weights about to be loaded): every parameter starts at zero. */
const NO_INIT: InitScheme = {
  linear: () => ({ weight: zeros, bias: zeros }),
  conv: () => ({ weight: zeros, bias: zeros }),
};

/** One stage's assignment, for cluster maps: the first block's S per head. */
export interface StageAssignment {
  /** [B, heads, N, M]: each pixel's row holds its center's sigmoid score, 0 elsewhere (N = H·W row-major, M = rows·cols). */
  S: tf.Tensor4D;
  /** int32 [B, heads, H, W]: each pixel's center, row-major over the cluster grid (ties → lowest index). */
  index: tf.Tensor4D;
  /** The stage's map size [H, W]. */
  size: [number, number];
  /** The cluster grid [rows, cols]. */
  clusters: [number, number];
}

/** One pooling layer's argmax, to trace stage pixels back to input pixels. */
export interface PoolAssignment {
  /** int32 [B, H, W] over the pool's input map: the output pixel (row-major over H/2×W/2) whose cluster each input pixel joined. */
  index: tf.Tensor3D;
  inSize: [number, number];
  outSize: [number, number];
}

/** What {@link CluenetModel.trace} returns; dispose it with `tf.dispose(trace)`. */
export interface ClusterTrace {
  /** [B, classes] (or [B, C] features without a head). */
  logits: tf.Tensor2D;
  stages: StageAssignment[];
  /** One per pooling layer; null for a strided convolution (no assignment). */
  pools: Array<PoolAssignment | null>;
  /** The image size the network saw (after `padTo` padding) and the stem's stride: stage-0 pixel (i, j) covers input rows i·stride…. */
  input: { size: [number, number]; padding: [number, number]; stemStride: number; stemKernel: number; stemPad: number };
}

/** Options of a forward pass. */
export interface ApplyOptions {
  /** Training mode: drop path active. Default false. */
  training?: boolean;
}

/**
 * A CLUENet (or Context Clusters) classifier on channels-last images. Parameters are
 * TensorFlow.js variables named with the official PyTorch keys; weights load from and save to
 * PyTorch state_dicts in `.safetensors` files.
 */
export class CluenetModel extends Module {
  readonly patchEmbed: PatchEmbed;
  readonly posEmbed: PosCNN | null;
  readonly stages: Stage[] = [];
  readonly pools: Downsample[] = [];
  readonly norm: Norm;
  readonly head: Linear | null;
  readonly #constants = new ConstantCache();
  readonly #dropRng: Rng;
  #disposed = false;

  /**
   * Builds the network of `config`, initialised from `seed` as the official code initialises
   * (or all zeros when `initialize` is false, before loading weights). Prefer `cluenet.create`.
   */
  constructor(
    readonly config: CluenetConfig,
    options: { seed?: number; initialize?: boolean } = {},
  ) {
    super();
    const rng = new Rng(options.seed ?? 0);
    const coc = config.family === "coc";
    const init = options.initialize === false ? NO_INIT : coc ? COC_INIT : CLUENET_INIT;
    const build: Build = { rng, init };
    this.#dropRng = rng.fork();
    const dims = config.dims;
    this.patchEmbed = this.module("patch_embed", new PatchEmbed(build, config.inChannels + 2, dims[0]!, config.stem, !coc));
    this.posEmbed = coc ? null : this.module("pos_embed", new PosCNN(build, dims[0]!));
    const network = this.module("network", new ModuleList());
    const rates = dropPathSchedule(config.dropPathRate, config.depths);
    const norm = coc ? "group" : "layer";
    config.depths.forEach((depth, i) => {
      const dim = dims[i]!;
      const blocks = Array.from({ length: depth }, (_, j) => {
        const heads = config.heads[i]!;
        const headDim = config.headDims[i]!;
        const clusters = config.clusters[i]!;
        const folds = config.folds[i]!;
        const mixer =
          config.mixer === "coc"
            ? new CocCluster(build, { dim, heads, headDim, clusters, folds })
            : new Cluster(build, config, { dim, heads, headDim, clusters, folds, assigns: j === 0 || !config.shareAssignment });
        return new ClusterBlock(build, mixer, {
          dim,
          mlpRatio: config.mlpRatios[i]!,
          dropPath: rates[i]![j]!,
          norm,
          layerScale: coc ? config.layerScale : null,
          depthwiseMlp: !coc,
        });
      });
      this.stages.push(network.add(new Stage(blocks, !coc)));
      if (i === config.depths.length - 1) return;
      const next = dims[i + 1]!;
      const pool =
        config.pool === "icp"
          ? new ImprovedClusterPool(build, dim, next, config.poolNorm2)
          : config.pool === "fec"
            ? new FecPool(build, dim, next)
            : new StridedConv(build, dim, next);
      this.pools.push(network.add(pool));
    });
    const last = dims[dims.length - 1]!;
    this.norm = this.module("norm", makeNorm(build, norm, last));
    this.head = config.numClasses > 0 ? this.module("head", new Linear(build, last, config.numClasses)) : null;
  }

  /** The registry name. */
  get name(): string {
    return this.config.name;
  }

  /**
   * The state of the drop-path random stream (the only randomness of a forward pass): a training
   * checkpoint stores it so a resumed run draws the same masks.
   */
  randomState(): RngState {
    return this.#dropRng.state();
  }

  /** Continues the drop-path random stream from a {@link randomState} taken earlier. */
  setRandomState(state: RngState): void {
    this.#dropRng.setState(state);
  }

  /** The trainable variables, in official state_dict order. */
  get trainableWeights(): tf.Variable[] {
    return this.namedParameters().map(([, p]) => p.variable);
  }

  /** Logits [B, classes] for NHWC float32 images [B, H, W, inChannels], in inference mode. */
  predict(x: tf.Tensor4D): tf.Tensor2D {
    return this.apply(x, { training: false });
  }

  /** Logits [B, classes]; `training: true` turns drop path on. Use inside tf.grads / optimizer.minimize to train. */
  apply(x: tf.Tensor4D, options: ApplyOptions = {}): tf.Tensor2D {
    return this.guard(x, () => tf.tidy(() => this.run(x, options.training ?? false, false).logits));
  }

  /** Pooled features [B, C] before the head (after the final norm and global average pool). */
  features(x: tf.Tensor4D, options: ApplyOptions = {}): tf.Tensor2D {
    return this.guard(x, () => tf.tidy(() => this.run(x, options.training ?? false, false).features));
  }

  /**
   * Logits plus every stage's first-block assignment per head and every cluster pool's argmax
   * (inference mode): what cluster maps are drawn from. The caller disposes the result.
   */
  trace(x: tf.Tensor4D): ClusterTrace {
    const input = this.checkInput(x);
    return this.guard(x, () => tf.tidy(() => {
      const r = this.run(x, false, true);
      const stages = r.stages.map((a, i): StageAssignment => {
        const [h, w] = r.sizes[i]!;
        const heads = this.config.heads[i]!;
        const b = x.shape[0];
        const [ch, cw] = this.config.clusters[i]!;
        return {
          S: tf.transpose(tf.reshape(assignmentMatrix(a, ch * cw), [heads, b, h * w, ch * cw]), [1, 0, 2, 3]) as tf.Tensor4D,
          index: tf.transpose(tf.reshape(a.index, [heads, b, h, w]), [1, 0, 2, 3]) as tf.Tensor4D,
          size: [h, w],
          clusters: [ch, cw],
        };
      });
      const pools = r.poolIndex.map((index, i): PoolAssignment | null => {
        if (!index) return null;
        const [h, w] = r.sizes[i]!;
        const [oh, ow] = r.sizes[i + 1]!;
        return { index: tf.reshape(index, [x.shape[0], h, w]) as tf.Tensor3D, inSize: [h, w], outSize: [oh, ow] };
      });
      const { kernel, stride, pad } = this.config.stem;
      const trace: ClusterTrace = { logits: r.logits, stages, pools, input: { ...input, stemStride: stride, stemKernel: kernel, stemPad: pad } };
      return trace as unknown as tf.TensorContainer;
    }) as unknown as ClusterTrace);
  }

  /** Loads a `.safetensors` state_dict (path or bytes) with the official names and layouts; all or nothing. */
  async loadWeights(source: string | Uint8Array): Promise<void> {
    await loadState(this, await readWeights(source), typeof source === "string" ? source : "the given bytes");
  }

  /** Loads parsed tensors (official names and layouts); all or nothing. */
  loadStateDict(source: StateSource, what = "the state dict"): Promise<void> {
    return loadState(this, source, what);
  }

  /** Writes the parameters as a PyTorch-style `.safetensors` state_dict with the official names and layouts. */
  async saveWeights(file: string, metadata: Record<string, string> = {}): Promise<void> {
    await saveState(this, file, { format: "pt", "cluelab.config": this.config.name, ...metadata });
  }

  /** Frees every variable and cached constant; the model cannot be used afterwards. */
  override dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    super.dispose();
    this.#constants.dispose();
    for (const stage of this.stages) stage.disposeConstants();
  }

  /**
   * Runs `fn`, turning the wasm backend's out-of-memory traps (its heap stops at 4 GB) into an
   * error that says what happened and what to do.
   */
  private guard<T>(x: tf.Tensor, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (tf.getBackend() === "wasm" && /memory access out of bounds|table index is out of bounds|Aborted\(|Cannot enlarge memory/.test(message)) {
        throw new Error(
          `the wasm backend ran out of memory (its heap stops at 4 GB) running ${this.config.name} on a batch of ` +
            `${x.shape[0]}: use a smaller batch (measured here: training fits CLUE_mini_CIFAR at 16 images, CLUE_nano_FMNIST at 64). ` +
            `The wasm backend cannot be used after this failure: restart the kernel or process.`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  /** Checks the input and returns the size the network will see. */
  private checkInput(x: tf.Tensor): { size: [number, number]; padding: [number, number] } {
    const c = this.config;
    if (this.#disposed) throw new Error(`this ${c.name} model was disposed`);
    const expect = `${c.name} expects a float32 NHWC batch [B, H, W, ${c.inChannels}]`;
    if (!(x instanceof tf.Tensor)) throw new TypeError(`${expect}; got ${typeof x}`);
    if (x.rank !== 4) throw new Error(`${expect}; got a rank-${x.rank} tensor [${x.shape.join(", ")}] (add a batch axis with x.expandDims(0)?)`);
    if (x.dtype !== "float32") throw new Error(`${expect}; got ${x.dtype} (convert with x.toFloat() and scale to the training range)`);
    const [, h0, w0, ch] = x.shape as number[] as [number, number, number, number];
    if (ch !== c.inChannels) {
      const nchw = x.shape[1] === c.inChannels ? " (this looks like NCHW: use tf.transpose(x, [0, 2, 3, 1]))" : "";
      throw new Error(`${expect}; got ${ch} channels in [${x.shape.join(", ")}]${nchw}`);
    }
    const ph = c.padTo && h0 < c.padTo[0] ? c.padTo[0] - h0 : 0;
    const pw = c.padTo && w0 < c.padTo[1] ? c.padTo[1] - w0 : 0;
    const h = h0 + ph;
    const w = w0 + pw;
    const { kernel, stride, pad } = c.stem;
    let sh = Math.floor((h + 2 * pad - kernel) / stride) + 1;
    let sw = Math.floor((w + 2 * pad - kernel) / stride) + 1;
    if (sh < 2 || sw < 2) throw new Error(`${c.name}: a ${h}×${w} input leaves a ${sh}×${sw} map after the stem; use larger images`);
    for (let i = 0; i < c.depths.length; i++) {
      const f = c.folds[i]!;
      if (sh % f !== 0 || sw % f !== 0) {
        throw new Error(`${c.name}: stage ${i} sees a ${sh}×${sw} map, which ${f}×${f} fold regions cannot split; use inputs of size ${c.inputSize.join("×")}`);
      }
      if (i < c.depths.length - 1) {
        if (c.pool !== "conv" && (sh % 2 !== 0 || sw % 2 !== 0)) {
          throw new Error(`${c.name}: pooling after stage ${i} halves a ${sh}×${sw} map, which needs even sides; use inputs of size ${c.inputSize.join("×")} (or any size whose stem output is divisible by 8)`);
        }
        sh = c.pool === "conv" ? Math.floor((sh - 1) / 2) + 1 : sh / 2;
        sw = c.pool === "conv" ? Math.floor((sw - 1) / 2) + 1 : sw / 2;
      }
    }
    return { size: [h, w], padding: [ph, pw] };
  }

  private run(
    x: tf.Tensor4D,
    training: boolean,
    record: boolean,
  ): { logits: tf.Tensor2D; features: tf.Tensor2D; stages: Assignment[]; poolIndex: Array<tf.Tensor2D | null>; sizes: Array<[number, number]> } {
    const { size, padding } = this.checkInput(x);
    const [h, w] = size;
    const b = x.shape[0];
    let img = x;
    if (padding[0] > 0 || padding[1] > 0) {
      const [ph, pw] = padding;
      img = tf.pad(x, [[0, 0], [Math.floor(ph / 2), ph - Math.floor(ph / 2)], [Math.floor(pw / 2), pw - Math.floor(pw / 2)], [0, 0]]);
    }
    const coords = this.#constants.get(`coords:${h}x${w}`, () => tf.tensor4d(coordinateGrid(h, w), [1, h, w, 2]));
    let y = this.patchEmbed.forward(tf.concat([img, b === 1 ? coords : tf.tile(coords, [b, 1, 1, 1])], 3));
    if (this.posEmbed) y = this.posEmbed.forward(y);
    const ctx: RunContext = { training, rng: this.#dropRng };
    const stages: Assignment[] = [];
    const poolIndex: Array<tf.Tensor2D | null> = [];
    const sizes: Array<[number, number]> = [];
    this.stages.forEach((stage, i) => {
      sizes.push([y.shape[1], y.shape[2]]);
      const r = stage.forward(y, ctx);
      y = r.x;
      if (record) stages.push(r.first);
      const pool = this.pools[i];
      if (pool) {
        const p = keepOnly(() => pool.forward(y));
        y = p.x;
        if (record) poolIndex.push(p.index);
      }
    });
    const features = tf.mean(this.norm.forward(y), [1, 2]) as tf.Tensor2D;
    const logits = this.head ? (this.head.forward(features) as tf.Tensor2D) : features;
    return { logits, features, stages, poolIndex, sizes };
  }
}
