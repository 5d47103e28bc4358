import type { Random } from "../random.js";
import type { LevelGraph } from "./level-graph.js";
import { moveGain } from "./modularity.js";

/**
 * Leiden's refinement phase (Traag et al. 2019, Algorithm A.2, MergeNodesSubset): starting from
 * singletons, each node that is still alone and well connected to its community S may join a
 * well-connected sub-community of S it has edges to; the choice is random with probability
 * ∝ exp(gain / randomness) over the non-negative gains (staying alone has gain 0). A node only ever
 * joins a sub-community it has an edge to, so every refined community is connected: this is what
 * guarantees Leiden's communities are connected.
 *
 * "Well connected" with resolution γ and total degree 2m: a set C ⊆ S is, when the weight of its
 * edges to S \ C is at least γ · K_C · (K_S − K_C) / 2m.
 *
 * @param parent - the community of each node after local moving, ids in [0, n).
 * @returns the refined community of each node, ids in [0, count).
 */
export function refine(
  graph: LevelGraph,
  parent: Int32Array,
  resolution: number,
  randomness: number,
  random: Random,
): { refined: Int32Array; count: number } {
  const { n, offsets, targets, weights, degrees } = graph;
  const twoM = 2 * graph.totalWeight;
  const refined = new Int32Array(n);
  for (let v = 0; v < n; v++) refined[v] = v;
  if (twoM === 0) return { refined, count: n };

  const parentTotal = new Float64Array(n);
  for (let v = 0; v < n; v++) parentTotal[parent[v]!]! += degrees[v]!;
  // external[c]: weight from refined community c to the rest of its parent community.
  const total = Float64Array.from(degrees);
  const external = new Float64Array(n);
  const size = new Int32Array(n).fill(1);
  for (let v = 0; v < n; v++) {
    const p = parent[v]!;
    let w = 0;
    for (let e = offsets[v]!; e < offsets[v + 1]!; e++) if (parent[targets[e]!] === p) w += weights[e]!;
    external[v] = w;
  }

  const order = random.permutation(n);
  const toCommunity = new Float64Array(n);
  const stamp = new Int32Array(n).fill(-1);
  const candidates = new Int32Array(n);
  const gains = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const v = order[k]!;
    if (size[refined[v]!] !== 1) continue; // only nodes still alone move
    const p = parent[v]!;
    const kv = degrees[v]!;
    const parentK = parentTotal[p]!;
    if (external[v]! < (resolution * kv * (parentK - kv)) / twoM) continue; // v not well connected to S

    let count = 0;
    for (let e = offsets[v]!; e < offsets[v + 1]!; e++) {
      const u = targets[e]!;
      if (parent[u] !== p) continue;
      const c = refined[u]!;
      if (stamp[c] !== v) {
        stamp[c] = v;
        toCommunity[c] = 0;
        candidates[count++] = c;
      }
      toCommunity[c]! += weights[e]!;
    }
    // Keep the well-connected candidates with a non-negative gain; staying alone is worth 0.
    let kept = 0;
    let best = 0;
    for (let i = 0; i < count; i++) {
      const c = candidates[i]!;
      const kc = total[c]!;
      if (external[c]! < (resolution * kc * (parentK - kc)) / twoM) continue;
      const gain = moveGain(toCommunity[c]!, kc, kv, resolution, twoM);
      if (gain < 0) continue;
      candidates[kept] = c;
      gains[kept++] = gain;
      if (gain > best) best = gain;
    }
    if (kept === 0) continue;
    // Sample ∝ exp(gain / randomness), shifted by the best gain for stability; index `kept` = stay.
    let sum = Math.exp(-best / randomness);
    for (let i = 0; i < kept; i++) sum += gains[i] = Math.exp((gains[i]! - best) / randomness);
    let draw = random.next() * sum;
    let chosen = -1;
    for (let i = 0; i < kept; i++) {
      draw -= gains[i]!;
      if (draw < 0) {
        chosen = candidates[i]!;
        break;
      }
    }
    if (chosen < 0) continue;
    // Join: the new external weight loses the edges between v and the community, counted from both sides.
    external[chosen] = external[chosen]! + external[v]! - 2 * toCommunity[chosen]!;
    total[chosen]! += kv;
    size[chosen]!++;
    size[v] = 0;
    refined[v] = chosen;
  }
  // Renumber to 0..count-1.
  const id = new Int32Array(n).fill(-1);
  let count = 0;
  for (let v = 0; v < n; v++) {
    const c = refined[v]!;
    if (id[c] === -1) id[c] = count++;
    refined[v] = id[c]!;
  }
  return { refined, count };
}
