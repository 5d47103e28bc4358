import type { Random } from "../random.js";
import type { LevelGraph } from "./level-graph.js";
import { moveGain } from "./modularity.js";

/**
 * Improvements smaller than this (relative to the node's degree) are treated as no improvement, so
 * rounding noise never moves a node back and forth.
 */
const TOLERANCE = 1e-12;

/**
 * The fast local-moving phase (Traag et al. 2019, Algorithm A.2): nodes wait in a queue, in random
 * order; each goes to the neighbouring community (or an empty one) where the modularity gain is
 * largest, and when it moves, its neighbours outside the new community are queued again. Stops
 * when the queue is empty, i.e. no single move improves modularity.
 *
 * @param membership - community of each node, ids in [0, n); updated in place.
 * @returns the number of moves made.
 */
export function moveNodes(graph: LevelGraph, membership: Int32Array, resolution: number, random: Random): number {
  const { n, offsets, targets, weights, degrees } = graph;
  const twoM = 2 * graph.totalWeight;
  if (twoM === 0 || n === 0) return 0;
  const total = new Float64Array(n);
  const size = new Int32Array(n);
  for (let v = 0; v < n; v++) {
    total[membership[v]!]! += degrees[v]!;
    size[membership[v]!]!++;
  }
  const empty = new Int32Array(n);
  let emptyCount = 0;
  for (let c = n - 1; c >= 0; c--) if (size[c] === 0) empty[emptyCount++] = c;

  // The queue is a ring of capacity n: a node is in it at most once (queued ⇔ not stable).
  const queue = random.permutation(n);
  let head = 0;
  let queued = n;
  const inQueue = new Uint8Array(n).fill(1);

  const toCommunity = new Float64Array(n);
  const stamp = new Int32Array(n).fill(-1);
  const neighbours = new Int32Array(n);
  let moves = 0;

  while (queued > 0) {
    const v = queue[head]!;
    head = head + 1 === n ? 0 : head + 1;
    queued--;
    inQueue[v] = 0;

    const own = membership[v]!;
    const kv = degrees[v]!;
    let count = 0;
    stamp[own] = v;
    toCommunity[own] = 0;
    neighbours[count++] = own;
    for (let e = offsets[v]!; e < offsets[v + 1]!; e++) {
      const c = membership[targets[e]!]!;
      if (stamp[c] !== v) {
        stamp[c] = v;
        toCommunity[c] = 0;
        neighbours[count++] = c;
      }
      toCommunity[c]! += weights[e]!;
    }
    // Its own edge list includes no self loop, so toCommunity[own] is the weight to the others in own.
    total[own]! -= kv;
    let best = own;
    let bestGain = moveGain(toCommunity[own]!, total[own]!, kv, resolution, twoM);
    const stay = bestGain;
    for (let i = 1; i < count; i++) {
      const c = neighbours[i]!;
      const gain = moveGain(toCommunity[c]!, total[c]!, kv, resolution, twoM);
      if (gain > bestGain) {
        best = c;
        bestGain = gain;
      }
    }
    // An empty community is worth 0; consider it only when v is not alone already.
    if (size[own]! > 1 && 0 > bestGain && emptyCount > 0) {
      best = empty[emptyCount - 1]!;
      bestGain = 0;
    }
    if (best !== own && bestGain - stay <= TOLERANCE * (kv + Math.abs(stay))) best = own;
    total[best]! += kv;
    if (best === own) continue;

    if (size[best] === 0) emptyCount--; // it was the top of the empty stack
    size[best]!++;
    size[own]!--;
    if (size[own] === 0) empty[emptyCount++] = own;
    membership[v] = best;
    moves++;
    for (let e = offsets[v]!; e < offsets[v + 1]!; e++) {
      const u = targets[e]!;
      if (!inQueue[u] && membership[u] !== best) {
        inQueue[u] = 1;
        queue[(head + queued) % n] = u;
        queued++;
      }
    }
  }
  return moves;
}
