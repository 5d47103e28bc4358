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
  const ids = denseIds(membership, n);
  const inside = new Float64Array(n);
  const totals = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    const c = ids[v]!;
    totals[c]! += degrees[v]!;
    for (let e = offsets[v]!; e < offsets[v + 1]!; e++) if (ids[targets[e]!] === c) inside[c]! += weights[e]!;
  }
  let q = 0;
  // inside[c] saw each internal edge from both ends.
  for (let c = 0; c < n; c++) if (totals[c]! > 0 || inside[c]! > 0) q += inside[c]! / (2 * m) - resolution * (totals[c]! / (2 * m)) ** 2;
  return q;
}

/** Community ids as integers in [0, n): as given when they already are, recoded otherwise. */
function denseIds(membership: ArrayLike<number>, n: number): ArrayLike<number> {
  let dense = true;
  for (let v = 0; v < n && dense; v++) {
    const c = membership[v]!;
    dense = Number.isInteger(c) && c >= 0 && c < n;
  }
  if (dense) return membership;
  const codes = new Map<number, number>();
  const out = new Int32Array(n);
  for (let v = 0; v < n; v++) {
    let code = codes.get(membership[v]!);
    if (code === undefined) codes.set(membership[v]!, (code = codes.size));
    out[v] = code;
  }
  return out;
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
