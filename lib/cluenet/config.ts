/**
 * The typed configuration of a CLUENet (or Context Clusters) network, and how user overrides are
 * checked and merged into a registry entry.
 */

/** Network family: decides the skeleton around the token mixer and the parameter names. */
export type Family = "cluenet" | "coc";
/** Token mixer inside each block. */
export type MixerKind = "cluenet" | "coc";
/** How the CLUENet mixer forms its cluster centers. */
export type Aggregation = "global-soft" | "local-hard";
/** Downsampling between stages. */
export type PoolKind = "icp" | "fec" | "conv";

/** A fully resolved network description. */
export interface CluenetConfig {
  /** The registry entry it came from. */
  readonly name: string;
  /**
   * "cluenet": LayerNorm, stem conv + LayerNorm, PosCNN, PVTv2 MLP (depthwise conv), no layer
   * scale, official CLUENet init, names `network.i.blocks.j.*`. "coc": Context Clusters'
   * skeleton: GroupNorm(1), stem conv without norm, no PosCNN, plain MLP, layer scale, PyTorch
   * default conv init, names `network.i.j.*`.
   */
  readonly family: Family;
  /** Image channels (2 coordinate channels are added inside the model). */
  readonly inChannels: number;
  /** Classes of the linear head; 0 means no head (the model outputs pooled features). */
  readonly numClasses: number;
  /** The input size the configuration was designed for, [H, W]. */
  readonly inputSize: readonly [number, number];
  /** Inputs smaller than this are zero-padded (evenly on both sides) to it before anything else; null: never. */
  readonly padTo: readonly [number, number] | null;
  /** Stem convolution: kernel, stride and symmetric padding. */
  readonly stem: { readonly kernel: number; readonly stride: number; readonly pad: number };
  /** Blocks per stage. */
  readonly depths: readonly number[];
  /** Channels per stage. */
  readonly dims: readonly number[];
  /** Heads per stage. */
  readonly heads: readonly number[];
  /** Channels per head, per stage. */
  readonly headDims: readonly number[];
  /** MLP hidden/in ratio per stage. */
  readonly mlpRatios: readonly number[];
  /** Grid of cluster centers [rows, cols] per stage (over the whole map, all fold regions together). */
  readonly clusters: ReadonlyArray<readonly [number, number]>;
  /** Fold regions per side per stage (1: the whole map); each region gets clusters/folds centers per side. */
  readonly folds: readonly number[];
  /** Stochastic-depth rate of the last block (linear in the block index from 0). */
  readonly dropPathRate: number;
  /** Lower bound of the temperature τ = exp(max(attn_alpha, ln minAlpha)). */
  readonly minAlpha: number;
  /** Token mixer: CLUENet's cluster attention or Context Clusters' cluster. */
  readonly mixer: MixerKind;
  /** CLUENet mixer: global soft aggregation (the paper) or CoC-style hard aggregation inside fold regions. */
  readonly aggregation: Aggregation;
  /** CLUENet mixer: the gated residual with the pooled value centers (off: centers = aggregated). */
  readonly gate: boolean;
  /** CLUENet mixer: blocks after the first of a stage reuse its assignment S (off: every block assigns). */
  readonly shareAssignment: boolean;
  /** CLUENet mixer: the temperature is learnable (attn_alpha) or fixed at `temperature`. */
  readonly learnableTemperature: boolean;
  /** Initial (or fixed) temperature τ of the cosine attention; the official init is 2.13. */
  readonly temperature: number;
  /** Downsampling between stages: Improved Cluster Pooling, FEC's cluster pooling, or a strided conv. */
  readonly pool: PoolKind;
  /** Improved Cluster Pooling ends with a LayerNorm (the official CLUE_mini* configs) or not. */
  readonly poolNorm2: boolean;
  /** Layer-scale initial value (family "coc"); null: none. */
  readonly layerScale: number | null;
}

/** What `create` accepts besides the registry name: every field but `name` and `family`. */
export interface CluenetOverrides {
  numClasses?: number;
  inChannels?: number;
  inputSize?: readonly [number, number];
  padTo?: readonly [number, number] | null;
  stem?: { kernel: number; stride: number; pad: number };
  depths?: readonly number[];
  dims?: readonly number[];
  heads?: readonly number[];
  headDims?: readonly number[];
  mlpRatios?: readonly number[];
  /** A number (n×n in every stage), one number per stage, or one [rows, cols] per stage. */
  clusters?: number | readonly number[] | ReadonlyArray<readonly [number, number]>;
  folds?: number | readonly number[];
  dropPathRate?: number;
  minAlpha?: number;
  mixer?: MixerKind;
  aggregation?: Aggregation;
  gate?: boolean;
  shareAssignment?: boolean;
  learnableTemperature?: boolean;
  temperature?: number;
  pool?: PoolKind;
  poolNorm2?: boolean;
  layerScale?: number | null;
}

/** A configuration the model cannot be built from; the message says which field and why. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const OVERRIDABLE = new Set<string>([
  "numClasses", "inChannels", "inputSize", "padTo", "stem", "depths", "dims", "heads", "headDims", "mlpRatios",
  "clusters", "folds", "dropPathRate", "minAlpha", "mixer", "aggregation", "gate", "shareAssignment",
  "learnableTemperature", "temperature", "pool", "poolNorm2", "layerScale",
]);

/** Merges `overrides` into `base` and checks the result. */
export function resolveConfig(base: CluenetConfig, overrides: Record<string, unknown>): CluenetConfig {
  const unknown = Object.keys(overrides).filter((k) => !OVERRIDABLE.has(k) && overrides[k] !== undefined);
  if (unknown.length > 0) {
    throw new ConfigError(
      `unknown option${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${k}"`).join(", ")} for ${base.name}; ` +
        `the options are ${[...OVERRIDABLE].join(", ")}`,
    );
  }
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) merged[k] = v;
  const stages = (merged.depths as readonly number[] | undefined)?.length ?? 0;
  merged.clusters = normaliseClusters(merged.clusters, stages);
  merged.folds = typeof merged.folds === "number" ? new Array<number>(stages).fill(merged.folds) : merged.folds;
  const config = merged as unknown as CluenetConfig;
  validate(config);
  return config;
}

function normaliseClusters(value: unknown, stages: number): unknown {
  if (typeof value === "number") return Array.from({ length: stages }, () => [value, value]);
  if (Array.isArray(value) && value.every((v) => typeof v === "number")) return value.map((v: number) => [v, v]);
  return value;
}

function validate(c: CluenetConfig): void {
  const errors: string[] = [];
  const posInt = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) > 0;
  const check = (ok: boolean, message: string): void => {
    if (!ok) errors.push(message);
  };
  check(posInt(c.inChannels), `inChannels must be a positive integer, got ${String(c.inChannels)}`);
  check(Number.isSafeInteger(c.numClasses) && c.numClasses >= 0, `numClasses must be an integer ≥ 0, got ${String(c.numClasses)}`);
  const stages = Array.isArray(c.depths) ? c.depths.length : 0;
  check(stages > 0 && c.depths.every(posInt), `depths must be a non-empty list of positive integers, got ${JSON.stringify(c.depths)}`);
  for (const key of ["dims", "heads", "headDims", "mlpRatios", "folds"] as const) {
    const v = c[key];
    check(Array.isArray(v) && v.length === stages, `${key} must list one value per stage (${stages}), got ${JSON.stringify(v)}`);
    if (Array.isArray(v) && key !== "mlpRatios") check(v.every(posInt), `${key} must be positive integers, got ${JSON.stringify(v)}`);
  }
  check(Array.isArray(c.mlpRatios) && c.mlpRatios.every((r) => typeof r === "number" && r > 0), `mlpRatios must be positive numbers`);
  check(
    Array.isArray(c.clusters) && c.clusters.length === stages && c.clusters.every((p) => Array.isArray(p) && p.length === 2 && p.every(posInt)),
    `clusters must be a number, one number per stage, or one [rows, cols] pair per stage (${stages}), got ${JSON.stringify(c.clusters)}`,
  );
  if (errors.length === 0) {
    c.clusters.forEach(([ch, cw], i) => {
      const f = c.folds[i]!;
      check(ch % f === 0 && cw % f === 0, `stage ${i}: clusters ${ch}×${cw} cannot be split into ${f}×${f} fold regions (set clusters to a multiple of folds)`);
    });
  }
  check(
    typeof c.stem === "object" && c.stem !== null && posInt(c.stem.kernel) && posInt(c.stem.stride) && Number.isSafeInteger(c.stem.pad) && c.stem.pad >= 0,
    `stem must be { kernel, stride, pad } with positive kernel/stride and pad ≥ 0, got ${JSON.stringify(c.stem)}`,
  );
  const pair = (v: unknown): boolean => Array.isArray(v) && v.length === 2 && v.every(posInt);
  check(pair(c.inputSize), `inputSize must be [H, W], got ${JSON.stringify(c.inputSize)}`);
  check(c.padTo === null || pair(c.padTo), `padTo must be [H, W] or null, got ${JSON.stringify(c.padTo)}`);
  check(typeof c.dropPathRate === "number" && c.dropPathRate >= 0 && c.dropPathRate < 1, `dropPathRate must be in [0, 1), got ${String(c.dropPathRate)}`);
  check(typeof c.minAlpha === "number" && c.minAlpha > 0, `minAlpha must be > 0, got ${String(c.minAlpha)}`);
  check(typeof c.temperature === "number" && c.temperature > 0, `temperature must be > 0, got ${String(c.temperature)}`);
  check(c.mixer === "cluenet" || c.mixer === "coc", `mixer must be "cluenet" or "coc", got ${JSON.stringify(c.mixer)}`);
  check(c.aggregation === "global-soft" || c.aggregation === "local-hard", `aggregation must be "global-soft" or "local-hard", got ${JSON.stringify(c.aggregation)}`);
  check(c.pool === "icp" || c.pool === "fec" || c.pool === "conv", `pool must be "icp", "fec" or "conv", got ${JSON.stringify(c.pool)}`);
  for (const key of ["gate", "shareAssignment", "learnableTemperature", "poolNorm2"] as const) {
    check(typeof c[key] === "boolean", `${key} must be true or false, got ${JSON.stringify(c[key])}`);
  }
  check(c.layerScale === null || (typeof c.layerScale === "number" && c.layerScale > 0), `layerScale must be a positive number or null`);
  check(c.family !== "coc" || c.mixer === "coc", `the Context Clusters family uses its own mixer; use a CLUENet config to try mixer "${c.mixer}"`);
  if (errors.length === 0) {
    c.dims.forEach((_, i) => {
      check(c.headDims[i]! >= 2 || !c.gate || c.mixer !== "cluenet", `stage ${i}: the gate needs a head dim ≥ 2 (it maps 2d → ⌊d/2⌋), got ${c.headDims[i]}`);
    });
  }
  if (errors.length > 0) throw new ConfigError(`invalid ${c.name} configuration:\n  - ${errors.join("\n  - ")}`);
}
