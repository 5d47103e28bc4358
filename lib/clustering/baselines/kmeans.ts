import { tf, ready } from "../../engine/index.js";
import { readEmbeddings, type Embeddings, type RowMatrix } from "../graph/embeddings.js";
import { Random } from "../random.js";

/** Options of {@link kmeans}. */
export interface KMeansOptions {
  /** Seed of the k-means++ draws (default 0). */
  seed?: number;
  /** Independent k-means++ starts; the one with the lowest inertia wins (default 1, scikit-learn's `"auto"` for k-means++). */
  nInit?: number;
  /** Lloyd iterations per start at most (default 300, as scikit-learn). */
  maxIter?: number;
  /**
   * Convergence: stop when the squared movement of all centers is at most tol × the mean
   * per-feature variance of the data (default 1e-4, scikit-learn's rule).
   */
  tol?: number;
}

/** A k-means clustering. */
export interface KMeansResult {
  /** Cluster of each sample, 0..k-1. */
  labels: Int32Array;
  /** The k centers, row-major k × dims. */
  centers: RowMatrix;
  /** Sum of squared distances of samples to their centers. */
  inertia: number;
  /** Lloyd iterations of the winning start. */
  iterations: number;
}

/**
 * k-means (Lloyd) with greedy k-means++ seeding, as scikit-learn's `KMeans(init="k-means++")`:
 * each new center is the best of 2 + ⌊ln k⌋ candidates drawn ∝ squared distance. Distances come
 * from one `tf.matMul` of the data against the centers per iteration (‖x‖² − 2x·c + ‖c‖²), so
 * 70,000 × 784 takes well under a second per iteration. Empty clusters are re-seeded with the
 * sample farthest from its center. Seeded and deterministic.
 *
 * @param data - samples × dims, a tensor (not disposed) or a row-major matrix; finite values.
 * @param k - number of clusters, 1 ≤ k ≤ samples.
 */
export async function kmeans(data: Embeddings, k: number, options: KMeansOptions = {}): Promise<KMeansResult> {
  const { seed = 0, nInit = 1, maxIter = 300, tol = 1e-4 } = options;
  const x = await readEmbeddings(data, "kmeans data");
  checkInputs(x, k, nInit, maxIter, tol);
  await ready();
  const { rows: n, cols: d } = x;
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x.data[i * d + j]! ** 2;
    norms[i] = s;
  }
  const tolerance = tol * meanVariance(x);
  const random = new Random(seed);
  const xt = tf.tensor2d(x.data, [n, d]);
  try {
    let best: KMeansResult | undefined;
    for (let start = 0; start < nInit; start++) {
      const centers = await kmeansPlusPlus(xt, x, norms, k, random);
      const result = await lloyd(xt, x, norms, centers, k, maxIter, tolerance);
      if (!best || result.inertia < best.inertia) best = result;
    }
    return best!;
  } finally {
    xt.dispose();
  }
}

function checkInputs(x: RowMatrix, k: number, nInit: number, maxIter: number, tol: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`kmeans: k must be a positive integer, got ${k}`);
  if (k > x.rows) throw new RangeError(`kmeans: k = ${k} clusters is more than the ${x.rows} samples; use k ≤ ${x.rows}`);
  if (!Number.isInteger(nInit) || nInit < 1) throw new RangeError(`kmeans: nInit must be a positive integer, got ${nInit}`);
  if (!Number.isInteger(maxIter) || maxIter < 1) throw new RangeError(`kmeans: maxIter must be a positive integer, got ${maxIter}`);
  if (!(tol >= 0)) throw new RangeError(`kmeans: tol must be ≥ 0, got ${tol}`);
  const { data } = x;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      throw new RangeError(`kmeans: sample ${Math.floor(i / x.cols)} has ${data[i]} at dimension ${i % x.cols}; values must be finite`);
    }
  }
}

function meanVariance(x: RowMatrix): number {
  const { data, rows, cols } = x;
  const sum = new Float64Array(cols);
  const squares = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let j = 0; j < cols; j++) {
      const v = data[base + j]!;
      sum[j]! += v;
      squares[j]! += v * v;
    }
  }
  let total = 0;
  for (let j = 0; j < cols; j++) total += Math.max(0, squares[j]! / rows - (sum[j]! / rows) ** 2);
  return total / cols;
}

/** Squared distances of every sample to each of `centers` (c × d), as an n × c row-major array. */
async function squaredDistances(xt: tf.Tensor2D, norms: Float64Array, centers: Float32Array, c: number, d: number): Promise<Float32Array> {
  // Centers go in transposed (d × c): wasm's matMul with transposeB is ~10× slower.
  const ct = tf.tensor2d(transpose(centers, c, d), [d, c]);
  const dots = tf.matMul(xt, ct);
  const values = (await dots.data()) as Float32Array;
  tf.dispose([ct, dots]);
  const centerNorms = new Float64Array(c);
  for (let a = 0; a < c; a++) for (let j = 0; j < d; j++) centerNorms[a]! += centers[a * d + j]! ** 2;
  const n = norms.length;
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < c; a++) {
      const v = norms[i]! + centerNorms[a]! - 2 * values[i * c + a]!;
      values[i * c + a] = v > 0 ? v : 0; // rounding can dip below 0 for a sample on its center
    }
  }
  return values;
}

function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = m[i * cols + j]!;
  return out;
}

/** Greedy k-means++ (Arthur and Vassilvitskii 2007, with scikit-learn's 2 + ⌊ln k⌋ local trials). */
async function kmeansPlusPlus(xt: tf.Tensor2D, x: RowMatrix, norms: Float64Array, k: number, random: Random): Promise<Float32Array> {
  const { rows: n, cols: d, data } = x;
  const trials = 2 + Math.floor(Math.log(k));
  const centers = new Float32Array(k * d);
  const first = random.int(n);
  centers.set(data.subarray(first * d, (first + 1) * d), 0);
  const closest = Float64Array.from(await squaredDistances(xt, norms, centers.subarray(0, d), 1, d));
  let potential = closest.reduce((s, v) => s + v, 0);
  const cumulative = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    let s = 0;
    for (let i = 0; i < n; i++) cumulative[i] = s += closest[i]!;
    const candidates: number[] = [];
    for (let t = 0; t < trials; t++) {
      // All samples on a center (potential 0): any sample will do.
      const target = random.next() * potential;
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cumulative[mid]! <= target) lo = mid + 1;
        else hi = mid;
      }
      candidates.push(potential > 0 ? lo : random.int(n));
    }
    const candidateRows = new Float32Array(trials * d);
    candidates.forEach((i, t) => candidateRows.set(data.subarray(i * d, (i + 1) * d), t * d));
    const dist = await squaredDistances(xt, norms, candidateRows, trials, d);
    let bestTrial = 0;
    let bestPotential = Infinity;
    for (let t = 0; t < trials; t++) {
      let p = 0;
      for (let i = 0; i < n; i++) p += Math.min(closest[i]!, dist[i * trials + t]!);
      if (p < bestPotential) {
        bestPotential = p;
        bestTrial = t;
      }
    }
    for (let i = 0; i < n; i++) closest[i] = Math.min(closest[i]!, dist[i * trials + bestTrial]!);
    potential = bestPotential;
    centers.set(candidateRows.subarray(bestTrial * d, (bestTrial + 1) * d), c * d);
  }
  return centers;
}

/** Lloyd's iterations from the given centers until they stop moving (or maxIter). */
async function lloyd(
  xt: tf.Tensor2D,
  x: RowMatrix,
  norms: Float64Array,
  initial: Float32Array,
  k: number,
  maxIter: number,
  tolerance: number,
): Promise<KMeansResult> {
  const { rows: n, cols: d, data } = x;
  let centers = initial;
  const labels = new Int32Array(n);
  const nearest = new Float64Array(n);
  let iterations = 0;
  for (;;) {
    await assign(xt, norms, centers, k, d, labels, nearest);
    iterations++;
    const next = await updateCenters(xt, data, d, k, labels, nearest, centers);
    let shift = 0;
    for (let j = 0; j < next.length; j++) shift += (next[j]! - centers[j]!) ** 2;
    centers = next;
    if (shift <= tolerance || iterations >= maxIter) break;
  }
  // Labels and inertia for the final centers (as scikit-learn's final E-step).
  await assign(xt, norms, centers, k, d, labels, nearest);
  // Inertia from the differences themselves: the matMul form loses digits near 0 to cancellation.
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    const base = i * d;
    const center = labels[i]! * d;
    for (let j = 0; j < d; j++) inertia += (data[base + j]! - centers[center + j]!) ** 2;
  }
  return { labels, centers: { data: centers, rows: k, cols: d }, inertia, iterations };
}

async function assign(
  xt: tf.Tensor2D,
  norms: Float64Array,
  centers: Float32Array,
  k: number,
  d: number,
  labels: Int32Array,
  nearest: Float64Array,
): Promise<void> {
  const dist = await squaredDistances(xt, norms, centers, k, d);
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    let bestDist = dist[i * k]!;
    for (let a = 1; a < k; a++) {
      if (dist[i * k + a]! < bestDist) {
        bestDist = dist[i * k + a]!;
        best = a;
      }
    }
    labels[i] = best;
    nearest[i] = bestDist;
  }
}

/**
 * Means of each cluster; an empty cluster takes the sample farthest from its center. The sums are
 * one matMul of the k × n one-hot assignment matrix with the data (3× faster than a JavaScript
 * loop over 70,000 × 784 values).
 */
async function updateCenters(
  xt: tf.Tensor2D,
  data: Float32Array,
  d: number,
  k: number,
  labels: Int32Array,
  nearest: Float64Array,
  previous: Float32Array,
): Promise<Float32Array> {
  const n = labels.length;
  const counts = new Float64Array(k);
  const oneHot = new Float32Array(k * n);
  for (let i = 0; i < n; i++) {
    counts[labels[i]!]!++;
    oneHot[labels[i]! * n + i] = 1;
  }
  const assignment = tf.tensor2d(oneHot, [k, n]);
  const product = tf.matMul(assignment, xt);
  const sums = (await product.data()) as Float32Array;
  tf.dispose([assignment, product]);
  const centers = new Float32Array(k * d);
  const taken = new Set<number>();
  for (let a = 0; a < k; a++) {
    if (counts[a]! > 0) {
      for (let j = 0; j < d; j++) centers[a * d + j] = sums[a * d + j]! / counts[a]!;
      continue;
    }
    let far = -1;
    for (let i = 0; i < n; i++) if (!taken.has(i) && (far < 0 || nearest[i]! > nearest[far]!)) far = i;
    taken.add(far);
    if (far < 0) centers.set(previous.subarray(a * d, (a + 1) * d), a * d);
    else centers.set(data.subarray(far * d, (far + 1) * d), a * d);
  }
  return centers;
}
