/**
 * What the training tests share: a tiny CLUENet (the real model, shrunk to 8×8 inputs), a tiny
 * MLP with its own drop-path random stream that it can export (to test bit-identical resume
 * with randomness in the model), and a synthetic dataset a model can learn.
 */
import { readFile } from "node:fs/promises";
import { cluenet, tf } from "../../lib/index.js";
import type { CluenetModel } from "../../lib/cluenet/index.js";
import { Linear, Module, Rng, parseSafetensors, toFloat32, writeSafetensors, type Build } from "../../lib/nn/index.js";
import { CLUENET_INIT } from "../../lib/cluenet/index.js";
import { fromTensors, type BatchSource, type TrainableModel } from "../../lib/train/index.js";

/** CLUENet's real code at toy size: 8×8×1 inputs, two stages (8 and 16 channels), 2×2 clusters. */
export function tinyCluenet(options: { seed?: number; numClasses?: number; dropPathRate?: number; overrides?: Record<string, unknown> } = {}): CluenetModel {
  return cluenet.create("CLUE_nano_FMNIST", {
    numClasses: options.numClasses ?? 4,
    seed: options.seed ?? 0,
    inputSize: [8, 8],
    padTo: null,
    depths: [1, 2],
    dims: [8, 16],
    heads: [1, 2],
    headDims: [8, 8],
    mlpRatios: [2, 2],
    clusters: 2,
    folds: 1,
    dropPathRate: options.dropPathRate ?? 0,
    ...options.overrides,
  });
}

/**
 * A two-layer MLP with per-sample stochastic depth on its hidden layer, drawing from its own
 * seeded stream whose state it exports (the number of draws, replayed on restore).
 */
export class TinyMlp extends Module implements TrainableModel {
  readonly fc1: Linear;
  readonly fc2: Linear;
  #seed: number;
  #rng: Rng;
  #draws = 0;

  constructor(inputs: number, hidden: number, classes: number, seed = 0) {
    super();
    const build: Build = { rng: new Rng(seed), init: CLUENET_INIT };
    this.fc1 = this.module("fc1", new Linear(build, inputs, hidden));
    this.fc2 = this.module("fc2", new Linear(build, hidden, classes));
    this.#seed = seed + 1000;
    this.#rng = new Rng(this.#seed);
  }

  get trainableWeights(): tf.Variable[] {
    return this.namedParameters().map(([, p]) => p.variable);
  }

  apply(x: tf.Tensor4D, options: { training: boolean }): tf.Tensor2D {
    return tf.tidy(() => {
      const b = x.shape[0];
      let h = tf.relu(this.fc1.forward(tf.reshape(x, [b, -1]) as tf.Tensor2D)) as tf.Tensor2D;
      if (options.training) {
        const keep = new Float32Array(b);
        for (let i = 0; i < b; i++, this.#draws++) keep[i] = this.#rng.uniform() < 0.7 ? 1 / 0.7 : 0;
        h = tf.mul(h, tf.tensor2d(keep, [b, 1]));
      }
      return this.fc2.forward(h) as tf.Tensor2D;
    });
  }

  randomState(): unknown {
    return { seed: this.#seed, draws: this.#draws };
  }

  setRandomState(state: unknown): void {
    const { seed, draws } = state as { seed: number; draws: number };
    this.#seed = seed;
    this.#rng = new Rng(seed);
    for (let i = 0; i < draws; i++) this.#rng.uniform();
    this.#draws = draws;
  }

  async saveWeights(file: string): Promise<void> {
    const tensors: Array<[string, { shape: number[]; data: Float32Array }]> = [];
    for (const [name, p] of this.namedParameters()) tensors.push([name, { shape: p.shape, data: (await p.variable.data()) as Float32Array }]);
    await writeSafetensors(file, tensors);
  }

  async loadWeights(file: string): Promise<void> {
    const st = parseSafetensors(await readFile(file), file);
    for (const [name, p] of this.namedParameters()) p.variable.assign(tf.tensor(toFloat32(name, st.tensors.get(name)!), p.shape));
  }
}

/**
 * `n` images `[n, size, size, 1]` of `classes` classes: class k is noise plus a bright square in
 * the k-th cell of a 2×2 grid (learnable, not trivial), values in [0, 1].
 */
export function syntheticImages(n: number, classes: number, size = 8, seed = 0): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const rng = new Rng(seed);
  const data = new Float32Array(n * size * size);
  const labels = new Int32Array(n);
  const half = size / 2;
  for (let i = 0; i < n; i++) {
    const k = i % classes;
    labels[i] = k;
    const oy = Math.floor(k / 2) % 2 === 0 ? 0 : half;
    const ox = k % 2 === 0 ? 0 : half;
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const inside = r >= oy && r < oy + half && c >= ox && c < ox + half;
        data[(i * size + r) * size + c] = Math.min(1, Math.max(0, (inside ? 0.7 : 0.2) + 0.25 * rng.normal()));
      }
    }
  }
  return { x: tf.tensor4d(data, [n, size, size, 1]), y: tf.tensor1d(labels, "int32") };
}

/** A synthetic in-memory batch source (disposed with `dispose()`). */
export function syntheticSource(n: number, classes: number, batchSize: number, options: { seed?: number; shuffle?: boolean; size?: number } = {}): BatchSource & { dispose(): void } {
  const { x, y } = syntheticImages(n, classes, options.size ?? 8, options.seed ?? 0);
  const source = fromTensors(x, y, { batchSize, shuffle: options.shuffle ?? true, seed: options.seed ?? 0 });
  tf.dispose([x, y]);
  return source;
}

/** Every trainable value of a model, concatenated (to compare models bit for bit). */
export async function weightsOf(model: TrainableModel): Promise<Float32Array> {
  const parts = await Promise.all(model.trainableWeights.map(async (v) => (await v.data()) as Float32Array));
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The first index where two arrays differ bit for bit, or −1. */
export function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}
