/**
 * Label arrays as the metrics accept them, and the contingency table between two labelings.
 *
 * Labels are any integers (negative, sparse or huge ids are fine); they are recoded to dense codes
 * 0..k-1 in order of first appearance, so the metrics never depend on how clusters are numbered.
 */

/** What the metrics accept: a plain array or any typed array of integer labels. */
export type Labels = ArrayLike<number>;

/** A labeling recoded to dense codes. */
export interface DenseLabels {
  /** codes[i] ∈ [0, count). */
  codes: Int32Array;
  /** Number of distinct labels. */
  count: number;
}

/** Recodes `labels` to dense codes, rejecting anything that is not an integer. */
export function denseLabels(labels: Labels, name: string): DenseLabels {
  if (labels === null || typeof labels !== "object" || typeof labels.length !== "number") {
    throw new TypeError(`${name} must be an array or typed array of integer labels, got ${describe(labels)}`);
  }
  const n = labels.length;
  const codes = new Int32Array(n);
  const seen = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const label = labels[i];
    if (typeof label !== "number" || !Number.isInteger(label)) {
      throw new TypeError(`${name}[${i}] is ${describe(label)}; labels must be integers (cast or round them first)`);
    }
    let code = seen.get(label);
    if (code === undefined) {
      code = seen.size;
      seen.set(label, code);
    }
    codes[i] = code;
  }
  return { codes, count: seen.size };
}

/**
 * The sparse contingency table of two labelings of the same samples: for every (truth, pred) pair
 * that occurs, how many samples have it. Sparse because either side may have as many clusters as
 * samples.
 */
export interface Contingency {
  n: number;
  truth: DenseLabels;
  pred: DenseLabels;
  /** Parallel arrays, one entry per non-zero cell. */
  rows: Int32Array;
  cols: Int32Array;
  counts: Float64Array;
  /** Class sizes (per truth code) and cluster sizes (per pred code). */
  rowSums: Float64Array;
  colSums: Float64Array;
}

/** Validates two labelings and builds their contingency table. */
export function contingency(truth: Labels, pred: Labels): Contingency {
  const t = denseLabels(truth, "truth");
  const p = denseLabels(pred, "pred");
  const n = t.codes.length;
  if (p.codes.length !== n) {
    throw new RangeError(
      `truth has ${n} labels but pred has ${p.codes.length}; both must label the same samples in the same order`,
    );
  }
  if (n === 0) throw new RangeError("truth and pred are empty; the metrics need at least one labelled sample");
  const cells = new Map<number, number>();
  const rowSums = new Float64Array(t.count);
  const colSums = new Float64Array(p.count);
  for (let i = 0; i < n; i++) {
    const r = t.codes[i]!;
    const c = p.codes[i]!;
    rowSums[r]!++;
    colSums[c]!++;
    const key = r * p.count + c; // < n² ≤ 2^53 for any array that fits in memory
    cells.set(key, (cells.get(key) ?? 0) + 1);
  }
  const size = cells.size;
  const rows = new Int32Array(size);
  const cols = new Int32Array(size);
  const counts = new Float64Array(size);
  let k = 0;
  for (const [key, count] of cells) {
    rows[k] = Math.floor(key / p.count);
    cols[k] = key % p.count;
    counts[k] = count;
    k++;
  }
  return { n, truth: t, pred: p, rows, cols, counts, rowSums, colSums };
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 20 ? value.slice(0, 20) + "…" : value)}`;
  return typeof value;
}
