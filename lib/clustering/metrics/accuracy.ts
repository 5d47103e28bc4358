import { munkres } from "munkres";
import { contingency, type Labels } from "./labels.js";

/** Largest dense assignment block solved exactly (cells); 10^7 float64 cells is 80 MB. */
const MAX_BLOCK_CELLS = 10_000_000;

/**
 * Clustering accuracy: the fraction of samples whose cluster maps to their class under the best
 * one-to-one matching of clusters to classes (the Hungarian algorithm, as scipy's
 * `linear_sum_assignment` on the contingency table). Clusters left without a class (when there are
 * more clusters than classes) count as wrong, and so do classes left without a cluster.
 *
 * Any number of clusters on either side: the matching only ever pairs a class with a cluster they
 * share samples with, so the problem splits into the connected blocks of the sparse contingency
 * table, each solved exactly on its own (with all-distinct labels every block is a single cell).
 *
 * @param truth - true class of each sample (any integers).
 * @param pred - cluster of each sample (any integers), same length and order.
 * @returns accuracy in [0, 1].
 */
export function clusteringAccuracy(truth: Labels, pred: Labels): number {
  const table = contingency(truth, pred);
  const rowsCount = table.truth.count;
  const colsCount = table.pred.count;
  // Union-find over classes (0..r-1) and clusters (r..r+c-1), joined by every non-zero cell.
  const parent = new Int32Array(rowsCount + colsCount);
  for (let i = 0; i < parent.length; i++) parent[i] = i;
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  for (let k = 0; k < table.counts.length; k++) {
    const a = find(table.rows[k]!);
    const b = find(rowsCount + table.cols[k]!);
    if (a !== b) parent[a] = b;
  }
  // Group cells, classes and clusters by block.
  const blocks = new Map<number, { rows: number[]; cols: number[]; cells: number[] }>();
  const block = (root: number) => {
    let b = blocks.get(root);
    if (!b) blocks.set(root, (b = { rows: [], cols: [], cells: [] }));
    return b;
  };
  for (let r = 0; r < rowsCount; r++) block(find(r)).rows.push(r);
  for (let c = 0; c < colsCount; c++) block(find(rowsCount + c)).cols.push(c);
  for (let k = 0; k < table.counts.length; k++) block(find(table.rows[k]!)).cells.push(k);

  let matched = 0;
  for (const b of blocks.values()) {
    if (b.cells.length === 1) {
      matched += table.counts[b.cells[0]!]!;
      continue;
    }
    const cells = b.rows.length * b.cols.length;
    if (cells > MAX_BLOCK_CELLS) {
      throw new RangeError(
        `clusteringAccuracy: ${b.rows.length} classes and ${b.cols.length} clusters overlap in one block of the ` +
          `contingency table (${cells} cells, more than the ${MAX_BLOCK_CELLS} an exact assignment is solved on); ` +
          `reduce the number of clusters (e.g. merge tiny ones) before scoring`,
      );
    }
    matched += solveBlock(table.rows, table.cols, table.counts, b);
  }
  return matched / table.n;
}

/** Exact maximum-weight matching of one block: the assignment that maximises matched samples. */
function solveBlock(
  rows: Int32Array,
  cols: Int32Array,
  counts: Float64Array,
  b: { rows: number[]; cols: number[]; cells: number[] },
): number {
  const rowIndex = new Map(b.rows.map((r, i) => [r, i]));
  const colIndex = new Map(b.cols.map((c, j) => [c, j]));
  const profit = b.rows.map(() => new Float64Array(b.cols.length));
  let max = 0;
  for (const k of b.cells) {
    const count = counts[k]!;
    profit[rowIndex.get(rows[k]!)!]![colIndex.get(cols[k]!)!] = count;
    if (count > max) max = count;
  }
  // munkres minimises; costs max − count are non-negative and order assignments the same way.
  const cost = profit.map((row) => row.map((count) => max - count));
  let matched = 0;
  for (const [y, x] of munkres(cost)) matched += profit[y]![x]!;
  return matched;
}
