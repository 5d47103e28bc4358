/**
 * UMAP (McInnes, Healy, Melville 2018) through umap-js: the manifold step of N2D (autoencoder
 * embeddings → UMAP → clustering), as a baseline and as a source of a backbone's initial labels.
 */
import { UMAP } from "umap-js";
import { readEmbeddings, type Embeddings, type RowMatrix } from "../graph/embeddings.js";
import { Random } from "../random.js";

/** Options of {@link umap}; defaults are N2D's for clustering (10 components, 20 neighbours, min_dist 0). */
export interface UmapOptions {
  /** Output dimensions (default 10). */
  components?: number;
  /** Neighbours of the fuzzy graph (default 20): larger keeps more global structure. */
  neighbors?: number;
  /** Minimum distance between embedded points (default 0: tight clumps, what clustering wants). */
  minDist?: number;
  /** Optimisation epochs (default: umap-js's choice by size, 500 for small data down to 200 above 7,500 samples). */
  epochs?: number;
  /** Seed of the nearest-neighbour descent and the layout (default 0). */
  seed?: number;
  /** Called after each optimisation epoch. */
  onEpoch?: (epoch: number, total: number) => void;
  /** Stops the optimisation at the next epoch (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
}

/**
 * Embeds the rows of `data` (Euclidean metric) into `components` dimensions. Seeded and
 * deterministic. Bad input — non-finite values, fewer samples than `neighbors` + 1, a
 * non-positive size — is rejected with the reason.
 */
export async function umap(data: Embeddings, options: UmapOptions = {}): Promise<RowMatrix> {
  const { components = 10, neighbors = 20, minDist = 0, epochs, seed = 0, onEpoch, signal } = options;
  const x = await readEmbeddings(data, "umap input");
  if (!Number.isInteger(components) || components < 1) throw new RangeError(`umap: components must be a positive integer, got ${components}`);
  if (!Number.isInteger(neighbors) || neighbors < 2) throw new RangeError(`umap: neighbors must be an integer ≥ 2, got ${neighbors}`);
  if (!(minDist >= 0)) throw new RangeError(`umap: minDist must be ≥ 0, got ${minDist}`);
  if (epochs !== undefined && !(Number.isInteger(epochs) && epochs >= 1)) throw new RangeError(`umap: epochs must be a positive integer, got ${epochs}`);
  if (x.rows <= neighbors) {
    throw new RangeError(`umap: ${x.rows} samples cannot have ${neighbors} neighbours each; give more than ${neighbors} samples or lower neighbors`);
  }
  for (let i = 0; i < x.data.length; i++) {
    if (!Number.isFinite(x.data[i])) throw new RangeError(`umap: row ${Math.floor(i / x.cols)} has a non-finite value (${x.data[i]})`);
  }
  const rows = Array.from({ length: x.rows }, (_, i) => Array.from(x.data.subarray(i * x.cols, (i + 1) * x.cols)));
  const random = new Random(seed);
  const model = new UMAP({ nComponents: components, nNeighbors: neighbors, minDist, nEpochs: epochs, random: () => random.next() });
  signal?.throwIfAborted();
  // umap-js decides its default epoch count privately, once the graph exists.
  const total = () => epochs ?? (model as unknown as { getNEpochs(): number }).getNEpochs();
  const out = await model.fitAsync(rows, (epoch) => {
    onEpoch?.(epoch, total());
    return !signal?.aborted;
  });
  signal?.throwIfAborted();
  const flat = new Float32Array(x.rows * components);
  out.forEach((row, i) => flat.set(row, i * components));
  return { data: flat, rows: x.rows, cols: components };
}
