/**
 * CLUENet ("CLUENet: Cluster Attention Makes Neural Networks Have Eyes", AAAI 2026) on
 * TensorFlow.js, numerically equal to the official PyTorch code (52KunKun/CLUENet), with its
 * configurations, ablation switches and the Context Clusters baseline.
 *
 * ```ts
 * const model = cluenet.create("CLUE_mini_CIFAR", { numClasses: 100 });
 * const logits = model.predict(images);            // images: float32 [B, 32, 32, 3]
 * const ablation = cluenet.create("CLUE_mini_CIFAR", { numClasses: 100, gate: false, pool: "fec" });
 * const pretrained = await cluenet.loadPretrained("CLUE_mini_CIFAR", "cluenet.safetensors");
 * ```
 * @packageDocumentation
 */
import type { CluenetConfig, CluenetOverrides } from "./config.js";
import { ConfigError, resolveConfig } from "./config.js";
import { REGISTRY } from "./configs.js";
import { CluenetModel } from "./network.js";
import { loadState, readWeights } from "./weights.js";

export { CluenetModel, CLUENET_INIT, COC_INIT } from "./network.js";
export type { ClusterTrace, StageAssignment, PoolAssignment, ApplyOptions } from "./network.js";
export { ConfigError } from "./config.js";
export type { CluenetConfig, CluenetOverrides, Family, MixerKind, Aggregation, PoolKind } from "./config.js";
export { WeightsError, type StateSource } from "./weights.js";
export type { Assignment } from "./mixer.js";
export {
  softAggregate, hardAssign, cosineAssign, dispatch, assignmentMatrix, hardAggregate, l2Normalize, cosineToCenters, type HardAssignment,
} from "./ops.js";

/** Options of {@link create}: the class count, a seed, and any configuration overrides. */
export interface CreateOptions extends CluenetOverrides {
  /** Classes of the linear head (0: no head, the model outputs pooled features). */
  numClasses: number;
  /** Seed of the initialisation and of drop-path masks (default 0). */
  seed?: number;
}

/** A registry entry as listed by {@link configs}. */
export interface ConfigInfo {
  name: string;
  summary: string;
  /** The configuration (its numClasses is the dataset's usual class count). */
  config: CluenetConfig;
  /** The parameter count the official README reports, and for how many classes. */
  published?: { params: string; numClasses: number };
}

/** The named configurations `create` accepts. */
export function configs(): ConfigInfo[] {
  return [...REGISTRY.entries()].map(([name, e]) => ({ name, summary: e.summary, config: e.config, ...(e.published ? { published: e.published } : {}) }));
}

function lookup(name: string): CluenetConfig {
  const entry = REGISTRY.get(name);
  if (!entry) {
    throw new ConfigError(`unknown CLUENet configuration "${name}"; the registry has ${[...REGISTRY.keys()].join(", ")}`);
  }
  return entry.config;
}

/** The resolved configuration `create(name, options)` would build, without building it. */
export function resolve(name: string, options: CreateOptions): CluenetConfig {
  const { seed: _seed, ...overrides } = options;
  return resolveConfig(lookup(name), overrides as Record<string, unknown>);
}

/**
 * Builds a randomly initialised model (the official init, seeded) from a registry entry, e.g.
 * `create("CLUE_mini_CIFAR", { numClasses: 100 })`. Overrides switch ablations:
 * `aggregation: "local-hard"`, `gate: false`, `shareAssignment: false`, `pool: "fec" | "conv"`,
 * `clusters: 2`, `learnableTemperature: false`, `mixer: "coc"` (Context Clusters' mixer in the
 * CLUENet skeleton), and any structural field of {@link CluenetConfig}.
 */
export function create(name: string, options: CreateOptions): CluenetModel {
  if (typeof options !== "object" || options === null || options.numClasses === undefined) {
    throw new ConfigError(`create("${name}", { numClasses, … }) needs numClasses (the head's class count; 0 for no head)`);
  }
  const config = resolve(name, options);
  return new CluenetModel(config, { seed: options.seed ?? 0 });
}

/**
 * Builds the model of a registry entry and loads a PyTorch state_dict saved as `.safetensors`
 * (official parameter names and layouts). `numClasses` and `inChannels` default to what the file
 * holds (`head.weight`, `patch_embed.proj.weight`). A missing, unexpected or wrongly shaped tensor
 * is one {@link WeightsError} listing them all.
 */
export async function loadPretrained(
  name: string,
  file: string | Uint8Array,
  options: Partial<CreateOptions> = {},
): Promise<CluenetModel> {
  const state = await readWeights(file);
  const head = state.tensors.get("head.weight");
  const stem = state.tensors.get("patch_embed.proj.weight");
  const numClasses = options.numClasses ?? (head ? head.shape[0]! : 0);
  const inChannels = options.inChannels ?? (stem && stem.shape.length === 4 ? stem.shape[1]! - 2 : undefined);
  const config = resolve(name, { ...options, numClasses, ...(inChannels !== undefined ? { inChannels } : {}) });
  const model = new CluenetModel(config, { initialize: false });
  try {
    await loadState(model, state, typeof file === "string" ? file : "the given bytes");
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}
