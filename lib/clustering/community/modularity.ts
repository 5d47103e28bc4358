import { toCsr } from "../graph/csr.js";
import type { CsrGraph, EdgeList } from "../graph/types.js";

/**
 * Weighted modularity with resolution γ, straight from its definition in O(m):
 * Q = Σ_c [ in_c / m − γ (K_c / 2m)² ], with in_c the weight of the edges inside community c (each
 * once), K_c the sum of its nodes' degrees and m the total edge weight. 0 for a graph without edges.
 */
export function modularity(
  graph: EdgeList | CsrGraph,
  membership: ArrayLike<number>,
  { resolution = 1 }: { resolution?: number } = {},
): number {
  const csr = "offsets" in graph ? graph : toCsr(graph, "modularity graph");
  checkMembership(membership, csr.n, "modularity");
  const { n, offsets, targets, weights, degrees, totalWeight: m } = csr;
  if (m === 0) return 0;
  const inside = new Map<number, number>();
  const totals = new Map<number, number>();
  for (let v = 0; v < n; v++) {
    const c = membership[v]!;
    totals.set(c, (totals.get(c) ?? 0) + degrees[v]!);
    for (let e = offsets[v]!; e < offsets[v + 1]!; e++) {
      if (membership[targets[e]!] === c) inside.set(c, (inside.get(c) ?? 0) + weights[e]! / 2);
    }
  }
  let q = 0;
  for (const [c, total] of totals) q += (inside.get(c) ?? 0) / m - resolution * (total / (2 * m)) ** 2;
  return q;
}

/**
 * The value of putting node v (degree kv) into a community, in edge-weight units: its weight to
 * the community's other nodes minus γ kv K / 2m, K the community's total degree without v.
 * Moving v from a to b changes modularity by (gain(b) − gain(a)) / m; the local-moving and
 * refinement phases rank moves with exactly this function.
 */
export function moveGain(weightToCommunity: number, communityTotalWithoutV: number, kv: number, resolution: number, twoM: number): number {
  return weightToCommunity - (resolution * kv * communityTotalWithoutV) / twoM;
}

/**
 * The modularity change of moving node `v` to community `target` (any id; a new id means a new
 * singleton community), predicted from community totals the way the optimiser predicts it.
 */
export function moveDelta(
  graph: CsrGraph,
  membership: ArrayLike<number>,
  v: number,
  target: number,
  { resolution = 1 }: { resolution?: number } = {},
): number {
  const { n, offsets, targets, weights, degrees, totalWeight: m } = graph;
  checkMembership(membership, n, "moveDelta");
  const own = membership[v]!;
  if (target === own || m === 0) return 0;
  let toOwn = 0;
  let toTarget = 0;
  for (let e = offsets[v]!; e < offsets[v + 1]!; e++) {
    const c = membership[targets[e]!]!;
    if (c === own) toOwn += weights[e]!;
    else if (c === target) toTarget += weights[e]!;
  }
  let ownTotal = -degrees[v]!;
  let targetTotal = 0;
  for (let u = 0; u < n; u++) {
    if (membership[u] === own) ownTotal += degrees[u]!;
    else if (membership[u] === target) targetTotal += degrees[u]!;
  }
  const kv = degrees[v]!;
  return (moveGain(toTarget, targetTotal, kv, resolution, 2 * m) - moveGain(toOwn, ownTotal, kv, resolution, 2 * m)) / m;
}

export function checkMembership(membership: ArrayLike<number>, n: number, what: string): void {
  if (!membership || membership.length !== n) {
    throw new RangeError(`${what}: membership must have one community id per node (${n}), got ${membership?.length}`);
  }
}
