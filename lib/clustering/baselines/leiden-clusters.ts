/**
 * Clustering into exactly k groups by community detection: Leiden on the embeddings' kNN graph,
 * at the resolution that yields k communities. On Fashion-MNIST autoencoder embeddings this
 * follows the data's manifold where k-means cuts it by distance to centers (see bench/dcvcd-fmnist.ts).
 */
import { leidenCsr } from "../community/leiden.js";
import { renumberBySize } from "../community/connectivity.js";
import { modularity } from "../community/modularity.js";
import { toCsr } from "../graph/csr.js";
import type { Embeddings } from "../graph/embeddings.js";
import { knnGraph } from "../graph/similarity.js";
import type { CsrGraph, GraphInfo } from "../graph/types.js";

/** Options of {@link leidenClusters}. */
export interface LeidenClustersOptions {
  /** Neighbours per node of the cosine kNN graph (default 15). */
  neighbors?: number;
  /** Seed of every Leiden run (default 0). */
  seed?: number;
  /** Leiden runs the resolution search may make at most (default 24); then merging closes the gap. */
  maxTrials?: number;
}

/** One Leiden run of the resolution search. */
export interface ResolutionTrial {
  resolution: number;
  communities: number;
}

/** The clustering, and how it was reached. */
export interface LeidenClustersResult {
  /** Cluster of each sample, 0..k-1, 0 the largest. */
  labels: Int32Array;
  /** The resolution γ of the Leiden run the labels come from. */
  resolution: number;
  /** Weighted modularity of `labels` on the graph at that resolution. */
  modularity: number;
  /** Communities that run found (k, or more when no resolution gave exactly k). */
  found: number;
  /** Pairs of communities merged to bring `found` down to k (0 when a resolution gave exactly k). */
  merged: number;
  /** Every Leiden run of the search, in order. */
  trials: ResolutionTrial[];
  /** The kNN graph's record. */
  graph: GraphInfo;
}

/**
 * Clusters samples into exactly `k` groups by community detection: builds the cosine kNN graph of
 * the embeddings, then searches Leiden's resolution γ (doubling or halving from 1, then bisecting
 * in log scale) for a run with exactly k communities. Community counts do not always pass through
 * every value as γ moves; if the search ends without k, the closest run with more than k
 * communities is brought down to k by merging, each time, the pair whose merge raises modularity
 * (at that γ) the most. Seeded and deterministic.
 *
 * @param data - samples × dims, a tensor (not disposed) or a row-major matrix: finite, no zero rows.
 * @param k - number of clusters, 1 ≤ k ≤ samples.
 * @example
 * ```ts
 * const { labels, resolution } = await leidenClusters(embeddings, 10, { neighbors: 15 });
 * ```
 */
export async function leidenClusters(data: Embeddings, k: number, options: LeidenClustersOptions = {}): Promise<LeidenClustersResult> {
  const { neighbors = 15, seed = 0, maxTrials = 24 } = options;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`leidenClusters: k must be a positive integer, got ${k}`);
  if (!Number.isInteger(neighbors) || neighbors < 1) throw new RangeError(`leidenClusters: neighbors must be a positive integer, got ${neighbors}`);
  if (!Number.isInteger(maxTrials) || maxTrials < 1) throw new RangeError(`leidenClusters: maxTrials must be a positive integer, got ${maxTrials}`);
  const rows = "rows" in data ? data.rows : data.shape[0];
  if (k > rows) throw new RangeError(`leidenClusters: k = ${k} clusters is more than the ${rows} samples`);
  if (neighbors >= rows) throw new RangeError(`leidenClusters: neighbors = ${neighbors}, but there are only ${rows} samples; use neighbors ≤ ${rows - 1}`);
  const graph = await knnGraph(data, { k: neighbors });
  const csr = toCsr(graph, "leidenClusters graph");

  const trials: ResolutionTrial[] = [];
  const runs = new Map<number, Int32Array>();
  const run = (resolution: number): number => {
    const { membership } = leidenCsr(csr, { resolution, seed });
    const communities = count(membership);
    trials.push({ resolution, communities });
    runs.set(resolution, membership);
    return communities;
  };
  // Bracket k: count(low) < k < count(high), from γ = 1 doubling or halving; then bisect in log scale.
  let low: number | undefined;
  let high: number | undefined;
  let resolution = 1;
  let c = run(resolution);
  const budget = () => trials.length < maxTrials;
  if (c < k) {
    low = resolution;
    while (c < k && budget()) {
      c = run((resolution *= 2));
      if (c < k) low = resolution;
      else if (c > k) high = resolution;
    }
  } else if (c > k) {
    high = resolution;
    while (c > k && budget() && resolution > 1e-6) {
      c = run((resolution /= 2));
      if (c > k) high = resolution;
      else if (c < k) low = resolution;
    }
  }
  while (c !== k && low !== undefined && high !== undefined && budget() && high / low > 1 + 1e-6) {
    const mid = Math.sqrt(low * high);
    c = run(mid);
    if (c > k) high = mid;
    else if (c < k) low = mid;
  }
  const exact = trials.findLast((t) => t.communities === k);
  // Otherwise the fewest communities above k (merging only ever removes communities).
  const chosen = exact ?? trials.filter((t) => t.communities > k).sort((a, b) => a.communities - b.communities || b.resolution - a.resolution)[0];
  if (!chosen) {
    throw new RangeError(
      `leidenClusters: no resolution gave ${k} or more communities in ${trials.length} Leiden runs (most: ${Math.max(...trials.map((t) => t.communities))}); ` +
        `raise maxTrials or lower k`,
    );
  }
  const found = runs.get(chosen.resolution)!;
  const merged = chosen.communities - k;
  // Leiden already numbers its communities by size, as mergeToCount does.
  const labels = merged > 0 ? mergeToCount(csr, found, k, chosen.resolution) : found;
  return {
    labels,
    resolution: chosen.resolution,
    modularity: modularity(csr, labels, { resolution: chosen.resolution }),
    found: chosen.communities,
    merged,
    trials,
    graph: graph.info,
  };
}

/**
 * Merges communities greedily until `k` are left: each step merges the pair with the largest
 * modularity gain at `resolution`, ΔQ = e_ab/m − γ·S_a·S_b/(2m²) (e_ab the weight between them,
 * S the summed degrees, m the total weight); pairs without an edge only lose modularity, so they
 * come last (the two with the smallest S_a·S_b).
 *
 * @param membership - a community id per node (any integers; at least k distinct).
 * @returns the merged membership, ids 0..k-1 with 0 the largest.
 */
export function mergeToCount(graph: CsrGraph, input: Int32Array, k: number, resolution: number): Int32Array {
  const { membership, count: c } = renumberBySize(input);
  const { n, offsets, targets, weights, degrees, totalWeight: m } = graph;
  const totals = new Float64Array(c);
  const between = Array.from({ length: c }, () => new Map<number, number>());
  for (let v = 0; v < n; v++) {
    const a = membership[v]!;
    totals[a]! += degrees[v]!;
    for (let e = offsets[v]!; e < offsets[v + 1]!; e++) {
      const b = membership[targets[e]!]!;
      // a's rows list each edge to b once (b's rows list it again, for between[b]).
      if (b !== a) between[a]!.set(b, (between[a]!.get(b) ?? 0) + weights[e]!);
    }
  }
  const parent = Int32Array.from({ length: c }, (_, i) => i);
  const alive = new Set(parent);
  const gain = (a: number, b: number, e: number) => (m > 0 ? e / m - (resolution * totals[a]! * totals[b]!) / (2 * m * m) : 0);
  while (alive.size > k) {
    let bestA = -1;
    let bestB = -1;
    let best = -Infinity;
    for (const a of alive) {
      for (const [b, e] of between[a]!) {
        const g = gain(a, b, e);
        if (a < b && (g > best || (g === best && (a < bestA || (a === bestA && b < bestB))))) [best, bestA, bestB] = [g, a, b];
      }
    }
    if (bestA < 0) {
      // No two communities share an edge: the two smallest by degree lose the least.
      const order = [...alive].sort((x, y) => totals[x]! - totals[y]! || x - y);
      [bestA, bestB] = [Math.min(order[0]!, order[1]!), Math.max(order[0]!, order[1]!)];
    }
    // Merge bestB into bestA.
    totals[bestA]! += totals[bestB]!;
    for (const [x, e] of between[bestB]!) {
      between[x]!.delete(bestB);
      if (x === bestA) continue;
      between[bestA]!.set(x, (between[bestA]!.get(x) ?? 0) + e);
      between[x]!.set(bestA, (between[x]!.get(bestA) ?? 0) + e);
    }
    between[bestA]!.delete(bestB);
    between[bestB]!.clear();
    parent[bestB] = bestA;
    alive.delete(bestB);
  }
  const root = (a: number): number => (parent[a] === a ? a : (parent[a] = root(parent[a]!)));
  return renumberBySize(Int32Array.from(membership, (a) => root(a))).membership;
}

function count(membership: Int32Array): number {
  let max = -1;
  for (const a of membership) if (a > max) max = a;
  return max + 1;
}
