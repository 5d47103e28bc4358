import { leidenCsr } from "../community/leiden.js";
import { toCsr } from "../graph/csr.js";
import { selectRows, type RowMatrix } from "../graph/embeddings.js";
import { subsetGraph } from "./subset-graph.js";
import type { GraphInfo, GraphSpec } from "../graph/types.js";

/** What the conservative initialisation did for one initial cluster. */
export interface InitialCluster {
  size: number;
  /** Communities Leiden found in the cluster's graph. */
  communities: number;
  /** Size of the largest one (the main community before screening). */
  largest: number;
  /** Members moved to the pool by risk screening. */
  screened: number;
  graph: GraphInfo;
}

/**
 * DCvCD's conservative initialisation (Section 3.2): for each initial cluster, Leiden on the
 * graph of its samples; the largest community becomes the main community, every other community
 * goes to the pool; then the members of the main community farther from its centroid than the
 * ρ-quantile of those distances go to the pool too.
 *
 * @param z - unit-norm embeddings of all samples.
 * @param initial - dense initial cluster of each sample, 0..K-1.
 * @returns mainOf[i]: the main community of sample i, or -1 for the pool.
 */
export async function initialise(
  z: RowMatrix,
  initial: Int32Array,
  clusters: number,
  settings: { graph: GraphSpec; rho: number; resolution: number; seed: number },
): Promise<{ mainOf: Int32Array; clusters: InitialCluster[] }> {
  const mainOf = new Int32Array(z.rows).fill(-1);
  const members: number[][] = Array.from({ length: clusters }, () => []);
  initial.forEach((c, i) => members[c]!.push(i));
  const report: InitialCluster[] = [];
  for (let k = 0; k < clusters; k++) {
    const idx = members[k]!;
    const graph = await subsetGraph(selectRows(z, idx), settings.graph);
    const { membership } = leidenCsr(toCsr(graph), { resolution: settings.resolution, seed: settings.seed });
    const main = idx.filter((_, i) => membership[i] === 0); // communities come numbered by size
    const kept = riskScreening(z, main, settings.rho);
    for (const i of kept) mainOf[i] = k;
    report.push({
      size: idx.length,
      communities: membership.length ? Math.max(...membership) + 1 : 0,
      largest: main.length,
      screened: main.length - kept.length,
      graph: graph.info,
    });
  }
  return { mainOf, clusters: report };
}

/**
 * Risk screening: keeps the members whose Euclidean distance to the community's centroid is at
 * most the ρ-quantile of those distances (linear interpolation, as numpy's default).
 */
export function riskScreening(z: RowMatrix, members: number[], rho: number): number[] {
  if (members.length <= 1) return members;
  const { data, cols: d } = z;
  const centroid = new Float64Array(d);
  for (const i of members) for (let j = 0; j < d; j++) centroid[j]! += data[i * d + j]!;
  for (let j = 0; j < d; j++) centroid[j]! /= members.length;
  const distances = members.map((i) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += (data[i * d + j]! - centroid[j]!) ** 2;
    return Math.sqrt(s);
  });
  const limit = quantile(distances, rho);
  return members.filter((_, k) => distances[k]! <= limit);
}

/** The q-quantile with linear interpolation between order statistics (numpy's default method). */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = q * (sorted.length - 1);
  const lo = Math.floor(position);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (position - lo) * (sorted[hi]! - sorted[lo]!);
}
