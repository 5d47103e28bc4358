import type { CsrGraph, EdgeList } from "./types.js";

/**
 * Validates an edge list (ids in range, no self loops, finite positive weights) and returns its
 * compressed sparse rows. Parallel edges are kept as given (their weights add up everywhere).
 *
 * @param what - how errors name the input, e.g. "community.leiden graph".
 */
export function toCsr(edges: EdgeList, what = "graph"): CsrGraph {
  checkEdgeList(edges, what);
  const { n, src, dst, weight } = edges;
  const m = src.length;
  const offsets = new Int32Array(n + 1);
  for (let e = 0; e < m; e++) {
    offsets[src[e]! + 1]!++;
    offsets[dst[e]! + 1]!++;
  }
  for (let i = 0; i < n; i++) offsets[i + 1]! += offsets[i]!;
  const fill = offsets.slice(0, n);
  const targets = new Int32Array(2 * m);
  const weights = new Float64Array(2 * m);
  const degrees = new Float64Array(n);
  let totalWeight = 0;
  for (let e = 0; e < m; e++) {
    const a = src[e]!;
    const b = dst[e]!;
    const w = weight[e]!;
    let k = fill[a]!++;
    targets[k] = b;
    weights[k] = w;
    k = fill[b]!++;
    targets[k] = a;
    weights[k] = w;
    degrees[a]! += w;
    degrees[b]! += w;
    totalWeight += w;
  }
  return { n, offsets, targets, weights, degrees, totalWeight };
}

/** Throws an error naming the first thing wrong with an edge list. */
export function checkEdgeList(edges: EdgeList, what: string): void {
  if (edges === null || typeof edges !== "object") throw new TypeError(`${what} must be an object { n, src, dst, weight }`);
  const { n, src, dst, weight } = edges;
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${what}: n must be a non-negative integer, got ${n}`);
  if (!(src instanceof Uint32Array) || !(dst instanceof Uint32Array)) {
    throw new TypeError(`${what}: src and dst must be Uint32Array (use Uint32Array.from(yourArray))`);
  }
  if (!(weight instanceof Float32Array || weight instanceof Float64Array)) {
    throw new TypeError(`${what}: weight must be a Float32Array or Float64Array`);
  }
  if (src.length !== dst.length || src.length !== weight.length) {
    throw new RangeError(
      `${what}: src, dst and weight must have one entry per edge, got ${src.length}, ${dst.length} and ${weight.length}`,
    );
  }
  for (let e = 0; e < src.length; e++) {
    const a = src[e]!;
    const b = dst[e]!;
    const w = weight[e]!;
    if (a >= n || b >= n) throw new RangeError(`${what}: edge ${e} (${a}–${b}) names a node ≥ n = ${n}`);
    if (a === b) throw new RangeError(`${what}: edge ${e} is a self loop on node ${a}; list only edges between distinct nodes`);
    if (!(w > 0) || !Number.isFinite(w)) {
      throw new RangeError(`${what}: edge ${e} (${a}–${b}) has weight ${w}; weights must be finite and positive`);
    }
  }
}
