import { DEFAULT_GRAPH } from "../graph/similarity.js";
import type { GraphSpec } from "../graph/types.js";

/**
 * Every hyper-parameter of DCvCD, with the paper's values as defaults. Options that exist only to
 * fit a CPU budget default to the paper's behaviour; any value that differs from the paper is
 * listed in the run summary's `deviations`.
 */
export interface DcvcdOptions {
  /**
   * Similarity graph over embeddings (default: the paper's cosine ≥ 0.5, capped at each node's 50
   * most similar neighbours; the paper has no cap, which does not fit memory at 70,000 samples, so
   * the cap is always reported as a deviation).
   */
  graph: GraphSpec;
  /** Risk screening: members of a main community farther from its centroid than this quantile go to the pool (0.90). */
  rho: number;
  /** Temperature of the clustering-aware InfoNCE (0.5). */
  tau: number;
  /** Fine-tuning epochs over the main communities per round (paper: 100). 0 refines on frozen embeddings. */
  epochsPerRound: number;
  /** Fine-tuning batch size (64). */
  batchSize: number;
  /** SGD learning rate (1e-4), momentum (0.9) and weight decay (5e-4) of fine-tuning. */
  learningRate: number;
  momentum: number;
  weightDecay: number;
  /** Resolution of the Leiden runs that split each initial cluster (1). */
  resolution: number;
  /**
   * Resolution of the Leiden run on the pool each round (paper: 1, the same as every run). Higher
   * splits the pool into more, smaller and purer isolated communities, so merging is more gradual.
   */
  poolResolution: number;
  /** Greedy merging: isolated communities one main community may absorb per round (paper: 1). */
  mergesPerMain: number;
  /** Fine-tune on at most this many main-community samples per epoch, drawn afresh each epoch (paper: all). */
  fineTuneSamples: number;
  /** Safety valve on the loop; the remaining pool then goes to the nearest centroids (100, as the reference code). */
  maxRounds: number;
  /** Seed of every random choice: Leiden, batches, positives, k-means (0). */
  seed: number;
  /** Clusters for the k-means that gives the initial labels when none are given. */
  k?: number;
  /** Batch size when embedding the data (256); does not change results. */
  embedBatchSize: number;
}

/** The paper's settings (Cheng and Chen 2025, Sections 3–4.2), with the capped graph cluelab defaults to. */
export const PAPER_DEFAULTS: Readonly<Omit<DcvcdOptions, "k">> = Object.freeze({
  graph: DEFAULT_GRAPH,
  rho: 0.9,
  tau: 0.5,
  epochsPerRound: 100,
  batchSize: 64,
  learningRate: 1e-4,
  momentum: 0.9,
  weightDecay: 5e-4,
  resolution: 1,
  poolResolution: 1,
  mergesPerMain: 1,
  fineTuneSamples: Infinity,
  maxRounds: 100,
  seed: 0,
  embedBatchSize: 256,
});

/** Options that do not change results, so they are never deviations. */
const NEUTRAL = new Set<string>(["seed", "k", "embedBatchSize"]);

/** An option whose value differs from the paper's. */
export interface Deviation {
  option: string;
  paper: unknown;
  used: unknown;
}

/** Fills in the paper's defaults and checks every value, naming the bad one. */
export function resolveOptions(options: Partial<DcvcdOptions> = {}): DcvcdOptions {
  const o: DcvcdOptions = { ...PAPER_DEFAULTS, ...options, graph: { ...(options.graph ?? PAPER_DEFAULTS.graph) } };
  const check = (ok: boolean, name: string, rule: string) => {
    if (!ok) throw new RangeError(`dcvcd: option ${name} must be ${rule}, got ${String((o as unknown as Record<string, unknown>)[name])}`);
  };
  check(o.rho > 0 && o.rho <= 1, "rho", "a quantile in (0, 1]");
  check(o.tau > 0, "tau", "> 0");
  check(Number.isInteger(o.epochsPerRound) && o.epochsPerRound >= 0, "epochsPerRound", "an integer ≥ 0");
  check(Number.isInteger(o.batchSize) && o.batchSize >= 2, "batchSize", "an integer ≥ 2");
  check(o.learningRate > 0, "learningRate", "> 0");
  check(o.momentum >= 0 && o.momentum < 1, "momentum", "in [0, 1)");
  check(o.weightDecay >= 0, "weightDecay", "≥ 0");
  check(o.resolution > 0, "resolution", "> 0");
  check(o.poolResolution > 0, "poolResolution", "> 0");
  check(Number.isInteger(o.mergesPerMain) && o.mergesPerMain >= 1, "mergesPerMain", "an integer ≥ 1");
  check(o.fineTuneSamples >= 1, "fineTuneSamples", "≥ 1 (Infinity: all)");
  check(Number.isInteger(o.maxRounds) && o.maxRounds >= 1, "maxRounds", "an integer ≥ 1");
  check(Number.isInteger(o.embedBatchSize) && o.embedBatchSize >= 1, "embedBatchSize", "an integer ≥ 1");
  check(o.k === undefined || (Number.isInteger(o.k) && o.k >= 1), "k", "a positive integer");
  return o;
}

/** The options that differ from the paper's, for the run summary. */
export function deviations(options: DcvcdOptions): Deviation[] {
  const out: Deviation[] = [];
  const graph = options.graph;
  if (!(graph.kind === "threshold" && graph.threshold === 0.5 && graph.cap === Infinity)) {
    out.push({ option: "graph", paper: "cosine ≥ 0.5, no cap", used: graph });
  }
  for (const [name, paper] of Object.entries(PAPER_DEFAULTS)) {
    if (NEUTRAL.has(name) || name === "graph") continue;
    const used = (options as unknown as Record<string, unknown>)[name];
    if (JSON.stringify(used) !== JSON.stringify(paper)) out.push({ option: name, paper, used });
  }
  return out;
}
