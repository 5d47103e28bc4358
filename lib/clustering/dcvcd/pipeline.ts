import type { Encoder } from "../../train/encoder.js";
import { kmeans } from "../baselines/kmeans.js";
import { leidenCsr } from "../community/leiden.js";
import { toCsr } from "../graph/csr.js";
import { normalizedRows, readEmbeddings, selectRows, type Embeddings, type RowMatrix } from "../graph/embeddings.js";
import { similarityGraph } from "../graph/similarity.js";
import type { GraphInfo } from "../graph/types.js";
import { denseLabels, type Labels } from "../metrics/labels.js";
import { Random } from "../random.js";
import { centroids, nearestCentroid, provisionalLabels, purity, scores, type Scores } from "./assignment.js";
import { embedAll, fineTune, type FineTuneRecord } from "./finetune.js";
import { initialise, type InitialCluster } from "./initialise.js";
import { subsetGraph } from "./subset-graph.js";
import { greedyMerges, jointStatistics, meanPairDistances, mergeScores, type PairScore } from "./merge-score.js";
import { deviations, resolveOptions, type DcvcdOptions, type Deviation } from "./options.js";
import { SampleBatches, type SampleInputs } from "./samples.js";

/** What DCvCD refines: an encoder with its inputs (fine-tuned each round), or fixed embeddings. */
export type DcvcdInput = (
  | {
      /** The backbone; fine-tuned in place on the main communities each round. */
      encoder: Encoder;
      /** The encoder's input for every sample, `[N, ...]`. */
      inputs: SampleInputs;
    }
  | {
      /** Frozen embeddings `[N, dims]`: the graph side of DCvCD only (no fine-tuning). */
      embeddings: Embeddings;
    }
) & {
  /** The backbone's initial labels y0 (any integers; K = how many distinct). Without them, k-means with `options.k`. */
  initialLabels?: Labels;
  /** True classes, for the per-round diagnostics only (purity, ACC/NMI/ARI); never used to decide anything. */
  truth?: Labels;
};

/** One (main, isolated) merge: the pair's terms, with the main community's label value and the merged size. */
export interface MergeRecord extends PairScore {
  label: number;
  size: number;
}

/** The state after initialisation (round 0) or after one round of the loop. */
export interface RoundRecord {
  round: number;
  /** Pool size when the round started and when it ended. */
  poolBefore: number;
  poolAfter: number;
  /** Leiden communities found in the pool graph (edgeless singletons excluded). */
  isolatedCommunities: number;
  /** Pool samples without any edge, sent to the nearest centroid. */
  edgeless: number;
  merges: MergeRecord[];
  mainSizes: number[];
  /** Main-community purity, and the provisional labeling's scores (pool at nearest centroid); with `truth` only. */
  purity?: number;
  metrics?: Scores;
  fineTune?: FineTuneRecord;
  graphs: { pool?: GraphInfo; joint?: GraphInfo };
  /** Main community of every sample (-1: pool), for displays. */
  mainOf: Int32Array;
  seconds: number;
}

/** What a run did, in numbers a report can quote. */
export interface DcvcdSummary {
  samples: number;
  clusters: number;
  options: DcvcdOptions;
  /** Settings that differ from the paper's (CPU budget, the graph cap). */
  deviations: Deviation[];
  fineTuned: boolean;
  initial: { clusters: InitialCluster[]; mainSamples: number; pool: number; initialMetrics?: Scores };
  rounds: number;
  /** Why the loop ended. */
  ended: "pool empty" | "no merge possible" | "maxRounds";
  final?: Scores;
  seconds: number;
}

export interface DcvcdResult {
  /** Final cluster of every sample, in the initial labels' own values. */
  labels: Int32Array;
  /** Round 0 (initialisation), then one record per round. */
  rounds: RoundRecord[];
  summary: DcvcdSummary;
  /** Final unit-norm embeddings. */
  embeddings: RowMatrix;
}

/** Progress and cancellation for long runs. */
export interface RunControl {
  /** Called after initialisation and after every round. */
  onRound?: (record: RoundRecord) => void;
  /** Checked between steps; aborting rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Deep clustering via gradual community detection (Cheng and Chen 2025): refines a backbone's
 * initial K-way labels. Conservative initialisation keeps only each cluster's largest Leiden
 * community, minus its outliers, as a main community; then, round after round, the encoder is
 * fine-tuned on the main communities (clustering-aware InfoNCE), the pool is split into
 * communities by Leiden, and each main community absorbs the isolated community that scores best
 * on ΔQ + Δk̄ − mean distance (greedy, without conflicts), until the pool is empty.
 *
 * @example
 * ```ts
 * const { labels, summary } = await dcvcd.run({ encoder, inputs, initialLabels, truth }, { epochsPerRound: 2 });
 * ```
 */
export async function run(input: DcvcdInput, options: Partial<DcvcdOptions> & RunControl = {}): Promise<DcvcdResult> {
  const started = performance.now();
  const { onRound, signal, ...rest } = options;
  const o = resolveOptions(rest);
  const random = new Random(o.seed);
  const encoder = "encoder" in input ? input.encoder : undefined;
  const samples = "encoder" in input ? await SampleBatches.from(input.inputs) : undefined;
  const fineTuned = encoder !== undefined && o.epochsPerRound > 0;

  const embed = async (): Promise<RowMatrix> => {
    const raw = encoder ? await embedAll(encoder, samples!, o.embedBatchSize, signal) : await readEmbeddings((input as { embeddings: Embeddings }).embeddings);
    return normalizedRows(raw, "embeddings");
  };
  let z = await embed();
  const n = z.rows;

  // Initial labels y0 (dense 0..K-1, with their original values) and the optional truth.
  let initial: Int32Array;
  let labelValues: number[];
  if (input.initialLabels !== undefined) {
    checkLength(input.initialLabels, n, "initialLabels");
    const dense = denseLabels(input.initialLabels, "initialLabels");
    initial = dense.codes;
    labelValues = [];
    for (let i = 0; i < n; i++) labelValues[initial[i]!] ??= input.initialLabels[i]!;
  } else {
    if (o.k === undefined) throw new RangeError("dcvcd: give initialLabels (the backbone's clusters) or options.k for k-means on the embeddings");
    if (o.k > n) throw new RangeError(`dcvcd: k = ${o.k} clusters is more than the ${n} samples`);
    initial = (await kmeans(z, o.k, { seed: o.seed })).labels;
    labelValues = Array.from({ length: o.k }, (_, k) => k);
  }
  const K = labelValues.length;
  if (K > n) throw new RangeError(`dcvcd: ${K} initial clusters is more than the ${n} samples`);
  // Checked now, not when the first joint graph is built after a round of fine-tuning.
  if (o.graph.kind === "knn" && o.graph.k >= n) {
    throw new RangeError(`dcvcd: graph.k = ${o.graph.k} neighbours per node, but there are only ${n} samples; use k ≤ ${n - 1}`);
  }
  let truth: Int32Array | undefined;
  let classes = 0;
  if (input.truth !== undefined) {
    checkLength(input.truth, n, "truth");
    const dense = denseLabels(input.truth, "truth");
    truth = dense.codes;
    classes = dense.count;
  }

  // Conservative initialisation.
  const init = await initialise(z, initial, K, o);
  if (init.clusters.every((c) => c.graph.edges === 0)) {
    throw new RangeError(
      `dcvcd: the similarity graph has no edge in any initial cluster (graph ${JSON.stringify(o.graph)}); ` +
        `the embeddings are too dissimilar for this threshold: lower graph.threshold or check the encoder`,
    );
  }
  const mainOf = init.mainOf;
  const rounds: RoundRecord[] = [];
  const record = (r: Omit<RoundRecord, "mainSizes" | "purity" | "metrics" | "mainOf">): RoundRecord => {
    const mainSizes = new Array<number>(K).fill(0);
    for (const k of mainOf) if (k >= 0) mainSizes[k]!++;
    const full: RoundRecord = { ...r, mainSizes, mainOf: Int32Array.from(mainOf) };
    if (truth) {
      full.purity = purity(mainOf, truth, K, classes);
      full.metrics = scores(truth, provisionalLabels(z, mainOf, K));
    }
    rounds.push(full);
    onRound?.(full);
    return full;
  };
  const poolSize = () => mainOf.reduce((s, k) => s + (k < 0 ? 1 : 0), 0);
  record({ round: 0, poolBefore: n, poolAfter: poolSize(), isolatedCommunities: 0, edgeless: 0, merges: [], graphs: {}, seconds: (performance.now() - started) / 1000 });

  let ended: DcvcdSummary["ended"] = "pool empty";
  for (let round = 1; poolSize() > 0; round++) {
    if (round > o.maxRounds) {
      ended = "maxRounds";
      break;
    }
    signal?.throwIfAborted();
    const roundStarted = performance.now();
    const poolBefore = poolSize();
    let tuned: FineTuneRecord | undefined;
    if (fineTuned) {
      const main = Int32Array.from(mainOf.keys()).filter((i) => mainOf[i]! >= 0);
      tuned = await fineTune(encoder!, samples!, main, Int32Array.from(main, (i) => mainOf[i]!), {
        epochs: o.epochsPerRound,
        batchSize: o.batchSize,
        learningRate: o.learningRate,
        momentum: o.momentum,
        weightDecay: o.weightDecay,
        tau: o.tau,
        samplesPerEpoch: o.fineTuneSamples,
      }, random, signal);
      z = await embed();
    }

    // Leiden on the pool's graph; samples without an edge go straight to the nearest centroid.
    const pool = Int32Array.from(mainOf.keys()).filter((i) => mainOf[i]! < 0);
    const poolGraph = await subsetGraph(selectRows(z, pool), o.graph);
    const poolCsr = toCsr(poolGraph);
    const { membership } = leidenCsr(poolCsr, { resolution: o.poolResolution, seed: o.seed + round });
    const edgeless = Array.from(pool).filter((_, p) => poolCsr.offsets[p + 1] === poolCsr.offsets[p]);
    if (edgeless.length) {
      const nearest = nearestCentroid(z, edgeless, centroids(z, mainOf, K), K);
      edgeless.forEach((i, s) => (mainOf[i] = nearest[s]!));
    }
    // Isolated communities, numbered 0..L-1 over the samples that still have an edge.
    const community = new Int32Array(n);
    for (let i = 0; i < n; i++) community[i] = mainOf[i]!;
    const isolatedId = new Map<number, number>();
    pool.forEach((i, p) => {
      if (mainOf[i]! >= 0) return; // was edgeless
      let l = isolatedId.get(membership[p]!);
      if (l === undefined) isolatedId.set(membership[p]!, (l = isolatedId.size));
      community[i] = K + l;
    });
    const L = isolatedId.size;
    if (L === 0) {
      record({ round, poolBefore, poolAfter: poolSize(), isolatedCommunities: 0, edgeless: edgeless.length, merges: [], graphs: { pool: poolGraph.info }, seconds: (performance.now() - roundStarted) / 1000, ...(tuned ? { fineTune: tuned } : {}) });
      continue;
    }

    // Score every (main, isolated) pair on the joint graph and merge greedily.
    const joint = await similarityGraph(z, o.graph);
    const stats = jointStatistics(toCsr(joint), community, K, L);
    const distances = await meanPairDistances(z, community, K, L, { random: () => random.next() });
    const accepted = greedyMerges(mergeScores(stats, distances), o.mergesPerMain);
    const members: number[][] = Array.from({ length: L }, () => []);
    for (let i = 0; i < n; i++) if (community[i]! >= K) members[community[i]! - K]!.push(i);
    const merges: MergeRecord[] = accepted.map((pair) => {
      for (const i of members[pair.isolated]!) mainOf[i] = pair.main;
      return { ...pair, label: labelValues[pair.main]!, size: members[pair.isolated]!.length };
    });
    record({
      round,
      poolBefore,
      poolAfter: poolSize(),
      isolatedCommunities: L,
      edgeless: edgeless.length,
      merges,
      graphs: { pool: poolGraph.info, joint: joint.info },
      seconds: (performance.now() - roundStarted) / 1000,
      ...(tuned ? { fineTune: tuned } : {}),
    });
    if (merges.length === 0) {
      ended = "no merge possible";
      break;
    }
  }

  // Whatever is left in the pool (maxRounds, or nothing mergeable) goes to the nearest centroid.
  const finalMain = provisionalLabels(z, mainOf, K);
  const labels = Int32Array.from(finalMain, (k) => labelValues[k]!);
  const summary: DcvcdSummary = {
    samples: n,
    clusters: K,
    options: o,
    deviations: encoder ? deviations(o) : [...deviations(o), { option: "fineTuning", paper: "every round", used: "none (frozen embeddings)" }],
    fineTuned,
    initial: {
      clusters: init.clusters,
      mainSamples: n - rounds[0]!.poolAfter,
      pool: rounds[0]!.poolAfter,
      ...(truth ? { initialMetrics: scores(truth, initial) } : {}),
    },
    rounds: rounds.length - 1,
    ended,
    ...(truth ? { final: scores(truth, finalMain) } : {}),
    seconds: (performance.now() - started) / 1000,
  };
  return { labels, rounds, summary, embeddings: z };
}

function checkLength(labels: Labels, n: number, name: string): void {
  if (labels === null || typeof labels !== "object" || typeof labels.length !== "number") {
    throw new TypeError(`dcvcd: ${name} must be an array or typed array of integer labels`);
  }
  if (labels.length !== n) throw new RangeError(`dcvcd: ${name} has ${labels.length} labels but there are ${n} samples; give one per sample, in order`);
}
