import { tf, ready } from "../../engine/index.js";
import type { RowMatrix } from "../graph/embeddings.js";
import type { CsrGraph } from "../graph/types.js";

/** Added to each normalising maximum of the merge score (the paper's ε). */
const EPS = 1e-12;

/**
 * Modularity gain of merging communities a and b (γ = 1), closed form:
 * ΔQ = e_ab / m − Stot_a · Stot_b / (2m²), with e_ab the summed weight of the edges between them,
 * Stot the sum of their members' degrees and m the total edge weight.
 */
export function deltaModularity(between: number, totalA: number, totalB: number, m: number): number {
  return between / m - (totalA * totalB) / (2 * m * m);
}

/**
 * Change of the internal average weighted degree k(C) = (1/|C|) Σ_{i,j∈C} w_ij (each internal
 * edge counted twice) when a and b merge, against the size-weighted mean of the two:
 * Δk̄ = k(a ∪ b) − (|a| k(a) + |b| k(b)) / (|a| + |b|) = 2 e_ab / (|a| + |b|).
 */
export function deltaAverageDegree(between: number, sizeA: number, sizeB: number): number {
  return (2 * between) / (sizeA + sizeB);
}

/**
 * What the closed forms need from the joint graph, in one pass over its edges: the weight
 * between every main community k and isolated community l, every community's total degree and
 * size, and the total weight m. `community[i]` is k ∈ [0, K) for a main member, K + l for a
 * member of isolated community l.
 */
export interface JointStatistics {
  mains: number;
  isolated: number;
  /** between[k · L + l] = e_kl. */
  between: Float64Array;
  /** Per community (K main, then L isolated): total degree and size. */
  totals: Float64Array;
  sizes: Float64Array;
  m: number;
}

export function jointStatistics(graph: CsrGraph, community: Int32Array, mains: number, isolated: number): JointStatistics {
  const { n, offsets, targets, weights, degrees } = graph;
  const between = new Float64Array(mains * isolated);
  const totals = new Float64Array(mains + isolated);
  const sizes = new Float64Array(mains + isolated);
  for (let i = 0; i < n; i++) {
    const a = community[i]!;
    if (a < 0) continue;
    totals[a]! += degrees[i]!;
    sizes[a]!++;
    if (a >= mains) continue;
    // From each main member, the edges into isolated communities (each edge seen once this way).
    for (let e = offsets[i]!; e < offsets[i + 1]!; e++) {
      const b = community[targets[e]!]!;
      if (b >= mains) between[a * isolated + (b - mains)]! += weights[e]!;
    }
  }
  return { mains, isolated, between, totals, sizes, m: graph.totalWeight };
}

/**
 * Mean pairwise Euclidean distance t_kl between the members of every main community k and every
 * isolated community l, over unit-norm embeddings (so ‖z_i − z_j‖ = √(2 − 2 cos)). Exact: tile by
 * tile, cosines come from matMul and the per-community sums from a one-hot matMul, all on the
 * backend. `mainSample` caps the members of each main community used (an unbiased estimate of
 * the mean; Infinity = all).
 */
export async function meanPairDistances(
  z: RowMatrix,
  community: Int32Array,
  mains: number,
  isolated: number,
  options: { mainSample?: number; tileSize?: number; random?: () => number } = {},
): Promise<Float64Array> {
  await ready();
  const { mainSample = Infinity, tileSize = 4096, random = Math.random } = options;
  const { data, cols: d } = z;
  const byMain: number[][] = Array.from({ length: mains }, () => []);
  const pool: number[] = [];
  for (let i = 0; i < community.length; i++) {
    const c = community[i]!;
    if (c < 0) continue;
    if (c < mains) byMain[c]!.push(i);
    else pool.push(i);
  }
  const mainRows: number[] = [];
  for (const members of byMain) {
    if (members.length > mainSample) {
      // Partial Fisher–Yates: a uniform sample without replacement.
      for (let s = 0; s < mainSample; s++) {
        const r = s + Math.floor(random() * (members.length - s));
        [members[s], members[r]] = [members[r]!, members[s]!];
      }
      members.length = mainSample;
    }
    mainRows.push(...members);
  }
  // rowSums[k · P + j]: Σ over sampled members of main k of the distance to pool sample j.
  const P = pool.length;
  const rowSums = new Float64Array(mains * P);
  const gather = (rows: number[], from: number, to: number) => {
    const out = new Float32Array((to - from) * d);
    for (let r = from; r < to; r++) out.set(data.subarray(rows[r]! * d, rows[r]! * d + d), (r - from) * d);
    return out;
  };
  for (let p0 = 0; p0 < P; p0 += tileSize) {
    const p1 = Math.min(P, p0 + tileSize);
    // Pool rows go in transposed: wasm's matMul with transposeB is ~10× slower.
    const poolT = tf.tidy(() => tf.transpose(tf.tensor2d(gather(pool, p0, p1), [p1 - p0, d])));
    for (let m0 = 0; m0 < mainRows.length; m0 += tileSize) {
      const m1 = Math.min(mainRows.length, m0 + tileSize);
      const oneHot = new Float32Array(mains * (m1 - m0));
      for (let r = m0; r < m1; r++) oneHot[community[mainRows[r]!]! * (m1 - m0) + (r - m0)] = 1;
      const sums = tf.tidy(() => {
        const cos = tf.matMul(tf.tensor2d(gather(mainRows, m0, m1), [m1 - m0, d]), poolT);
        const dist = tf.sqrt(tf.relu(tf.sub(2, tf.mul(2, cos))));
        return tf.matMul(tf.tensor2d(oneHot, [mains, m1 - m0]), dist); // mains × tile
      });
      const values = (await sums.data()) as Float32Array;
      sums.dispose();
      const width = p1 - p0;
      for (let k = 0; k < mains; k++) for (let j = 0; j < width; j++) rowSums[k * P + p0 + j]! += values[k * width + j]!;
    }
    poolT.dispose();
  }
  const sampled = new Float64Array(mains);
  for (const i of mainRows) sampled[community[i]!]!++;
  const poolSizes = new Float64Array(isolated);
  const sums = new Float64Array(mains * isolated);
  pool.forEach((i, j) => {
    const l = community[i]! - mains;
    poolSizes[l]!++;
    for (let k = 0; k < mains; k++) sums[k * isolated + l]! += rowSums[k * P + j]!;
  });
  for (let k = 0; k < mains; k++) {
    for (let l = 0; l < isolated; l++) {
      const pairs = sampled[k]! * poolSizes[l]!;
      sums[k * isolated + l] = pairs > 0 ? sums[k * isolated + l]! / pairs : 0;
    }
  }
  return sums;
}

/** The three terms and the score of one (main, isolated) pair. */
export interface PairScore {
  main: number;
  isolated: number;
  dQ: number;
  dk: number;
  t: number;
  score: number;
}

/**
 * The merge score of every pair, normalised per main community k over the isolated communities:
 * L_kl = ΔQ_kl / max_l |ΔQ_k·| + Δk̄_kl / max_l |Δk̄_k·| − t_kl / max_l t_k· (ε in each denominator).
 */
export function mergeScores(stats: JointStatistics, distances: Float64Array): PairScore[] {
  const { mains: K, isolated: L, between, totals, sizes, m } = stats;
  const out: PairScore[] = [];
  for (let k = 0; k < K; k++) {
    const row: PairScore[] = [];
    let maxQ = 0;
    let maxK = 0;
    let maxT = 0;
    for (let l = 0; l < L; l++) {
      const e = between[k * L + l]!;
      const dQ = m > 0 ? deltaModularity(e, totals[k]!, totals[K + l]!, m) : 0;
      const dk = deltaAverageDegree(e, sizes[k]!, sizes[K + l]!);
      const t = distances[k * L + l]!;
      maxQ = Math.max(maxQ, Math.abs(dQ));
      maxK = Math.max(maxK, Math.abs(dk));
      maxT = Math.max(maxT, t);
      row.push({ main: k, isolated: l, dQ, dk, t, score: 0 });
    }
    for (const p of row) p.score = p.dQ / (maxQ + EPS) + p.dk / (maxK + EPS) - p.t / (maxT + EPS);
    out.push(...row);
  }
  return out;
}

/**
 * Greedy non-conflicting merges: pairs by descending score; a pair is accepted when its isolated
 * community is still free and its main community has absorbed fewer than `perMain` this round
 * (the paper: 1). Ties keep the lower (main, isolated) first, so the result is deterministic.
 */
export function greedyMerges(scores: PairScore[], perMain = 1): PairScore[] {
  const sorted = [...scores].sort((a, b) => b.score - a.score || a.main - b.main || a.isolated - b.isolated);
  const used = new Map<number, number>();
  const taken = new Set<number>();
  const accepted: PairScore[] = [];
  for (const pair of sorted) {
    if (taken.has(pair.isolated) || (used.get(pair.main) ?? 0) >= perMain) continue;
    taken.add(pair.isolated);
    used.set(pair.main, (used.get(pair.main) ?? 0) + 1);
    accepted.push(pair);
  }
  return accepted;
}
