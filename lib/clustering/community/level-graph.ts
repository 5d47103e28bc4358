import type { CsrGraph } from "../graph/types.js";

/**
 * A graph at one level of the Leiden/Louvain hierarchy: CSR rows plus a self-loop weight per node,
 * which is where the edges inside an aggregated community go. Degrees include twice the self loop,
 * so modularity is the same at every level.
 */
export interface LevelGraph extends CsrGraph {
  /** Sum of the weights of the edges inside each (aggregated) node, each edge once. */
  selfLoops: Float64Array;
}

/** Level 0: the input graph, no self loops. */
export function levelGraph(csr: CsrGraph): LevelGraph {
  return { ...csr, selfLoops: new Float64Array(csr.n) };
}

/**
 * Collapses each group of nodes (`group[v]` ∈ [0, count)) into one node: edges between groups are
 * summed, edges inside a group become its self loop. O(m) with one scratch row.
 */
export function aggregate(graph: LevelGraph, group: Int32Array, count: number): LevelGraph {
  const { n, offsets, targets, weights, selfLoops, degrees } = graph;
  // Members of each group, contiguous.
  const start = new Int32Array(count + 1);
  for (let v = 0; v < n; v++) start[group[v]! + 1]!++;
  for (let g = 0; g < count; g++) start[g + 1]! += start[g]!;
  const members = new Int32Array(n);
  const fill = start.slice(0, count);
  for (let v = 0; v < n; v++) members[fill[group[v]!]!++] = v;

  const newOffsets = new Int32Array(count + 1);
  const newTargets = new Int32Array(targets.length); // never more half-edges than before
  const newWeights = new Float64Array(targets.length);
  const newSelf = new Float64Array(count);
  const newDegrees = new Float64Array(count);
  const row = new Float64Array(count);
  const seen = new Int32Array(count).fill(-1);
  const listed = new Int32Array(count);
  let out = 0;
  for (let g = 0; g < count; g++) {
    let listedCount = 0;
    let self = 0;
    let degree = 0;
    for (let k = start[g]!; k < start[g + 1]!; k++) {
      const v = members[k]!;
      self += selfLoops[v]!;
      degree += degrees[v]!;
      for (let e = offsets[v]!; e < offsets[v + 1]!; e++) {
        const h = group[targets[e]!]!;
        if (h === g) {
          self += weights[e]! / 2; // seen from both ends
        } else {
          if (seen[h] !== g) {
            seen[h] = g;
            row[h] = 0;
            listed[listedCount++] = h;
          }
          row[h]! += weights[e]!;
        }
      }
    }
    newOffsets[g] = out;
    for (let i = 0; i < listedCount; i++) {
      const h = listed[i]!;
      newTargets[out] = h;
      newWeights[out++] = row[h]!;
    }
    newSelf[g] = self;
    newDegrees[g] = degree;
  }
  newOffsets[count] = out;
  return {
    n: count,
    offsets: newOffsets,
    targets: newTargets.slice(0, out),
    weights: newWeights.slice(0, out),
    selfLoops: newSelf,
    degrees: newDegrees,
    totalWeight: graph.totalWeight,
  };
}
