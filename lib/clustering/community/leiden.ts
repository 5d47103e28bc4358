import { toCsr } from "../graph/csr.js";
import type { CsrGraph, EdgeList } from "../graph/types.js";
import { Random } from "../random.js";
import { renumberBySize, splitDisconnected } from "./connectivity.js";
import { aggregate, levelGraph, type LevelGraph } from "./level-graph.js";
import { moveNodes } from "./local-moving.js";
import { checkMembership, modularity } from "./modularity.js";
import { refine } from "./refine.js";

/** Options of {@link leiden} and {@link louvain}. */
export interface CommunityOptions {
  /** Resolution γ of modularity (default 1): larger gives more, smaller communities. */
  resolution?: number;
  /** Seed of every random choice (default 0): same seed, same graph → same result. */
  seed?: number;
  /**
   * Passes of the whole multi-level procedure, each starting from the last one's result; a
   * negative number repeats until a pass improves nothing. Default 4: on Fashion-MNIST's 70k kNN
   * graph, the median modularity over 10 seeds is 0.87849 with 2 passes (leidenalg's
   * `find_partition` default; leidenalg: 0.87867), 0.87876 with 3 and 0.87905 with 4, for ~1.4×
   * the time of 2 passes.
   */
  iterations?: number;
  /** Leiden only: the randomness θ of the refinement's choices (default 0.01, the paper's). */
  randomness?: number;
  /** Start from this membership instead of singletons (one id per node, any integers). */
  initial?: ArrayLike<number>;
}

/** A partition into communities. */
export interface CommunityResult {
  /** Community of each node, 0..count-1 with 0 the largest community. */
  membership: Int32Array;
  /** Weighted modularity of the membership at the given resolution. */
  modularity: number;
}

/**
 * Leiden community detection (Traag, Waltman and van Eck 2019) maximising weighted modularity:
 * fast local moving, a refinement that keeps every community connected, and aggregation of the
 * refined communities, repeated until nothing changes. Seeded and deterministic.
 *
 * @param graph - `{ n, src, dst, weight }`: each undirected edge listed once, no self loops,
 *   positive weights; nodes without edges are allowed (each ends up alone).
 * @example
 * ```ts
 * const { membership, modularity } = community.leiden({ n, src, dst, weight }, { resolution: 1, seed: 0 });
 * ```
 */
export function leiden(graph: EdgeList, options: CommunityOptions = {}): CommunityResult {
  const { membership, modularity } = detect(toCsr(graph, "community.leiden graph"), options, true);
  return { membership, modularity };
}

/**
 * Louvain community detection (Blondel et al. 2008): local moving and aggregation, without
 * Leiden's refinement, so a community may end up internally disconnected before the final check
 * splits it. Provided for comparison; prefer {@link leiden}.
 */
export function louvain(graph: EdgeList, options: CommunityOptions = {}): CommunityResult {
  const { membership, modularity } = detect(toCsr(graph, "community.louvain graph"), options, false);
  return { membership, modularity };
}

/** {@link leiden} on a graph already in CSR form (the DCvCD pipeline builds CSR once and reuses it). */
export function leidenCsr(csr: CsrGraph, options: CommunityOptions = {}): CommunityResult {
  const { membership, modularity } = detect(csr, options, true);
  return { membership, modularity };
}

/**
 * Leiden (`refinePartition`) or Louvain on CSR, also reporting how many communities the final
 * connectivity check had to split (always 0 for Leiden; the tests hold it to that).
 */
export function detect(csr: CsrGraph, options: CommunityOptions, refinePartition: boolean): CommunityResult & { repaired: number } {
  const { resolution = 1, seed = 0, iterations = 4, randomness = 0.01, initial } = options;
  if (!(resolution >= 0) || !Number.isFinite(resolution)) throw new RangeError(`resolution must be a finite number ≥ 0, got ${resolution}`);
  if (!(randomness > 0)) throw new RangeError(`randomness must be > 0, got ${randomness}`);
  if (!Number.isInteger(iterations) || iterations === 0) {
    throw new RangeError(`iterations must be a non-zero integer (negative: until no improvement), got ${iterations}`);
  }
  const random = new Random(seed);
  let membership: Int32Array;
  if (initial) {
    checkMembership(initial, csr.n, "initial");
    membership = renumberBySize(Int32Array.from(initial)).membership;
  } else {
    membership = new Int32Array(csr.n);
    for (let v = 0; v < csr.n; v++) membership[v] = v;
  }
  const base = levelGraph(csr);
  let quality = modularity(csr, membership, { resolution });
  for (let pass = 0; iterations < 0 || pass < iterations; pass++) {
    const next = optimise(base, membership, resolution, randomness, random, refinePartition);
    const nextQuality = modularity(csr, next, { resolution });
    const improved = nextQuality > quality + 1e-12 * Math.abs(quality);
    if (nextQuality >= quality) {
      membership = next;
      quality = nextQuality;
    }
    if (iterations < 0 && !improved) break;
  }
  const { membership: connected, splits } = splitDisconnected(csr, membership);
  const final = renumberBySize(connected).membership;
  return { membership: final, modularity: modularity(csr, final, { resolution }), repaired: splits };
}

/**
 * One pass of the multi-level procedure, as leidenalg's `optimise_partition`: move nodes, refine,
 * aggregate the refined communities (each aggregate node starting in its unrefined community),
 * repeat while aggregation still shrinks the graph.
 */
function optimise(
  base: LevelGraph,
  start: Int32Array,
  resolution: number,
  randomness: number,
  random: Random,
  refinePartition: boolean,
): Int32Array {
  const n = base.n;
  let graph = base;
  let partition = Int32Array.from(start);
  // Which node of the current level each original node is in.
  const node = new Int32Array(n);
  for (let v = 0; v < n; v++) node[v] = v;
  const result = new Int32Array(n);
  for (;;) {
    moveNodes(graph, partition, resolution, random);
    const { membership: dense, count: communities } = renumberBySize(partition);
    for (let v = 0; v < n; v++) result[v] = dense[node[v]!]!;
    if (communities === graph.n) break; // every node is its own community: nothing to aggregate

    let group: Int32Array;
    let groups: number;
    if (refinePartition) {
      ({ refined: group, count: groups } = refine(graph, dense, resolution, randomness, random));
    } else {
      group = dense;
      groups = communities;
    }
    if (groups === graph.n) break; // refinement merged nothing: aggregation would not shrink the graph
    const next = aggregate(graph, group, groups);
    // Aggregate nodes start in the community their members were moved to.
    const nextPartition = new Int32Array(groups);
    for (let u = 0; u < graph.n; u++) nextPartition[group[u]!] = dense[u]!;
    for (let v = 0; v < n; v++) node[v] = group[node[v]!]!;
    graph = next;
    partition = nextPartition;
  }
  return result;
}
