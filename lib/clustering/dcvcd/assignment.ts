import type { RowMatrix } from "../graph/embeddings.js";
import { ari, clusteringAccuracy, nmi } from "../metrics/index.js";

/** The centroid of each main community (mean of its members' unit-norm embeddings), K × d. */
export function centroids(z: RowMatrix, mainOf: Int32Array, mains: number): Float64Array {
  const { data, cols: d } = z;
  const sums = new Float64Array(mains * d);
  const counts = new Float64Array(mains);
  for (let i = 0; i < mainOf.length; i++) {
    const k = mainOf[i]!;
    if (k < 0) continue;
    counts[k]!++;
    for (let j = 0; j < d; j++) sums[k * d + j]! += data[i * d + j]!;
  }
  for (let k = 0; k < mains; k++) for (let j = 0; j < d; j++) sums[k * d + j]! /= Math.max(1, counts[k]!);
  return sums;
}

/** The main community whose centroid is nearest (Euclidean) to each of `samples`. */
export function nearestCentroid(z: RowMatrix, samples: ArrayLike<number>, centers: Float64Array, mains: number): Int32Array {
  const { data, cols: d } = z;
  const out = new Int32Array(samples.length);
  for (let s = 0; s < samples.length; s++) {
    const i = samples[s]!;
    let best = 0;
    let bestDistance = Infinity;
    for (let k = 0; k < mains; k++) {
      let dist = 0;
      for (let j = 0; j < d; j++) dist += (data[i * d + j]! - centers[k * d + j]!) ** 2;
      if (dist < bestDistance) {
        bestDistance = dist;
        best = k;
      }
    }
    out[s] = best;
  }
  return out;
}

/** Main communities as they stand, with every pool sample at its nearest centroid: a full labeling. */
export function provisionalLabels(z: RowMatrix, mainOf: Int32Array, mains: number): Int32Array {
  const labels = Int32Array.from(mainOf);
  const pool: number[] = [];
  mainOf.forEach((k, i) => k < 0 && pool.push(i));
  if (pool.length) {
    const nearest = nearestCentroid(z, pool, centroids(z, mainOf, mains), mains);
    pool.forEach((i, s) => (labels[i] = nearest[s]!));
  }
  return labels;
}

/**
 * Pseudo-label purity of the main communities: the fraction of main-community samples whose
 * true class is their community's majority class (pool samples are not counted).
 */
export function purity(mainOf: Int32Array, truth: Int32Array, mains: number, classes: number): number {
  const counts = new Float64Array(mains * classes);
  let total = 0;
  for (let i = 0; i < mainOf.length; i++) {
    if (mainOf[i]! < 0) continue;
    counts[mainOf[i]! * classes + truth[i]!]!++;
    total++;
  }
  let majority = 0;
  for (let k = 0; k < mains; k++) {
    let best = 0;
    for (let c = 0; c < classes; c++) best = Math.max(best, counts[k * classes + c]!);
    majority += best;
  }
  return total ? majority / total : 0;
}

/** ACC, NMI and ARI of a labeling against the truth. */
export interface Scores {
  acc: number;
  nmi: number;
  ari: number;
}

export function scores(truth: Int32Array, labels: Int32Array): Scores {
  return { acc: clusteringAccuracy(truth, labels), nmi: nmi(truth, labels), ari: ari(truth, labels) };
}
