import type { CsrGraph } from "../graph/types.js";

/**
 * Splits every community that is not connected into its connected components (each becomes its
 * own community). Splitting parts with no edge between them only removes a negative term from
 * modularity, so this never lowers it. Leiden already guarantees connected communities; this is
 * the check that proves it on every run (and the repair if it ever fails).
 *
 * @returns the new membership (ids 0..count-1) and how many extra communities the split made.
 */
export function splitDisconnected(graph: CsrGraph, membership: Int32Array): { membership: Int32Array; count: number; splits: number } {
  const { n, offsets, targets } = graph;
  const out = new Int32Array(n).fill(-1);
  const stack = new Int32Array(n);
  const seenCommunity = new Set<number>();
  let count = 0;
  let splits = 0;
  for (let s = 0; s < n; s++) {
    if (out[s] !== -1) continue;
    const c = membership[s]!;
    if (seenCommunity.has(c)) splits++;
    else seenCommunity.add(c);
    const id = count++;
    out[s] = id;
    let top = 0;
    stack[top++] = s;
    while (top > 0) {
      const v = stack[--top]!;
      for (let e = offsets[v]!; e < offsets[v + 1]!; e++) {
        const u = targets[e]!;
        if (out[u] === -1 && membership[u] === c) {
          out[u] = id;
          stack[top++] = u;
        }
      }
    }
  }
  return { membership: out, count, splits };
}

/** Renumbers communities 0..count-1 by decreasing size (ties: first appearance), so 0 is the largest. */
export function renumberBySize(membership: Int32Array): { membership: Int32Array; count: number } {
  const n = membership.length;
  const first = new Map<number, number>();
  const sizes: number[] = [];
  const dense = new Int32Array(n);
  for (let v = 0; v < n; v++) {
    let d = first.get(membership[v]!);
    if (d === undefined) {
      d = sizes.length;
      first.set(membership[v]!, d);
      sizes.push(0);
    }
    sizes[d]!++;
    dense[v] = d;
  }
  const order = sizes.map((_, d) => d).sort((a, b) => sizes[b]! - sizes[a]! || a - b);
  const rank = new Int32Array(sizes.length);
  order.forEach((d, r) => (rank[d] = r));
  for (let v = 0; v < n; v++) dense[v] = rank[dense[v]!]!;
  return { membership: dense, count: sizes.length };
}
