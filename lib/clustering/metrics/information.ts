import { contingency, type Labels } from "./labels.js";

/**
 * Normalized mutual information with the arithmetic-mean normalisation, scikit-learn's default
 * (`normalized_mutual_info_score(truth, pred)`): I(T;P) / ((H(T) + H(P)) / 2).
 *
 * Like scikit-learn, two labelings that each put every sample in one cluster score 1, and a labeling
 * with no information (mutual information 0) scores 0; the result is clipped to [0, 1] against rounding.
 *
 * @param truth - true class of each sample (any integers).
 * @param pred - cluster of each sample (any integers), same length and order.
 */
export function nmi(truth: Labels, pred: Labels): number {
  const table = contingency(truth, pred);
  const { n } = table;
  // Perfect agreement on a single cluster (or a single sample) is defined as 1, as scikit-learn does.
  if (table.truth.count === 1 && table.pred.count === 1) return 1;
  const hTruth = entropy(table.rowSums, n);
  const hPred = entropy(table.colSums, n);
  let mi = 0;
  for (let k = 0; k < table.counts.length; k++) {
    const nij = table.counts[k]!;
    mi += (nij / n) * Math.log((n * nij) / (table.rowSums[table.rows[k]!]! * table.colSums[table.cols[k]!]!));
  }
  mi = Math.max(mi, 0);
  const normalizer = (hTruth + hPred) / 2;
  if (mi === 0 || normalizer === 0) return 0;
  return Math.min(1, Math.max(0, mi / normalizer));
}

/**
 * Adjusted Rand index (Hubert and Arabie), as scikit-learn's `adjusted_rand_score`: 1 for identical
 * partitions, about 0 for independent ones, negative when worse than chance (so it is not clipped
 * to [0, 1]). Like scikit-learn, labelings whose pair counts leave nothing to adjust score 1.
 */
export function ari(truth: Labels, pred: Labels): number {
  const table = contingency(truth, pred);
  const { n } = table;
  // Pair-confusion form (scikit-learn's): exact in float64 for any realistic n.
  let sumSquares = 0;
  for (let k = 0; k < table.counts.length; k++) sumSquares += table.counts[k]! * table.counts[k]!;
  let rowSquares = 0;
  for (let r = 0; r < table.rowSums.length; r++) rowSquares += table.rowSums[r]! * table.rowSums[r]!;
  let colSquares = 0;
  for (let c = 0; c < table.colSums.length; c++) colSquares += table.colSums[c]! * table.colSums[c]!;
  const tp = sumSquares - n; // 2 × pairs together in both
  const fp = colSquares - sumSquares; // together in pred only
  const fn = rowSquares - sumSquares; // together in truth only
  const tn = n * n - fp - fn - sumSquares; // apart in both (× 2, plus the diagonal n)
  if (fn === 0 && fp === 0) return 1;
  return (2 * (tp * tn - fn * fp)) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
}

function entropy(sizes: Float64Array, n: number): number {
  let h = 0;
  for (let i = 0; i < sizes.length; i++) {
    const p = sizes[i]! / n;
    if (p > 0) h -= p * Math.log(p);
  }
  return h;
}
