/**
 * What the trainer needs from a model: a forward pass, its variables, and its weights on disk.
 * `cluenet.create(...)` models satisfy it; so does any model with these members.
 */
import type { tf } from "../engine/index.js";

/** A classifier the trainer can train, evaluate and checkpoint. */
export interface TrainableModel {
  /** Logits `[B, classes]` for a batch `[B, H, W, C]`; `training: true` turns on drop path and the like. */
  apply(x: tf.Tensor4D, options: { training: boolean }): tf.Tensor2D;
  /** The variables the optimizer updates, always in the same order. */
  readonly trainableWeights: tf.Variable[];
  /** Writes the weights (CLUENet: the official PyTorch state_dict layout, `.safetensors`). */
  saveWeights(file: string, metadata?: Record<string, string>): Promise<void>;
  /** Reads weights written by {@link TrainableModel.saveWeights}; all or nothing. */
  loadWeights(file: string): Promise<void>;
  /**
   * Stable names of the trainable variables (CLUENet: the official parameter names), used to key
   * the optimizer's state in checkpoints. Without it, variables are keyed by position.
   */
  namedParameters?(): Array<[string, { variable: tf.Variable }]>;
  /**
   * The state of the model's own random stream (drop-path coin flips), JSON-serialisable, and
   * its restoration: with both, a resumed run continues bit for bit. Without them a resumed run
   * draws different drop-path masks than the uninterrupted one would have (the trainer says so).
   */
  randomState?(): unknown;
  setRandomState?(state: unknown): void;
}

/** The names the trainer keys variables by: the model's own names, or positions. */
export function variableNames(model: TrainableModel): string[] {
  const weights = model.trainableWeights;
  if (typeof model.namedParameters === "function") {
    const named = model.namedParameters();
    const byVariable = new Map(named.map(([name, p]) => [p.variable, name]));
    const names = weights.map((v) => byVariable.get(v));
    if (names.every((n): n is string => n !== undefined) && new Set(names).size === names.length) return names;
  }
  return weights.map((_, i) => `param.${i}`);
}
