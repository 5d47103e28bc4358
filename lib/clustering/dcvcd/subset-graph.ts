import type { RowMatrix } from "../graph/embeddings.js";
import { similarityGraph } from "../graph/similarity.js";
import type { GraphSpec, SimilarityGraph } from "../graph/types.js";

/**
 * The similarity graph over a subset of the samples (one initial cluster, or the pool). A kNN
 * graph's k is a property of the whole run, but a small cluster or the last of the pool may hold
 * no more than k samples: there every sample links to all the others (k = rows − 1), which the
 * graph's info records, rather than the error `similarityGraph` gives a caller who asked for it.
 */
export async function subsetGraph(z: RowMatrix, spec: GraphSpec): Promise<SimilarityGraph> {
  if (spec.kind !== "knn" || spec.k < z.rows) return similarityGraph(z, spec);
  if (z.rows >= 2) return similarityGraph(z, { kind: "knn", k: z.rows - 1 });
  // Zero or one sample: no pair to compare.
  const none = { n: z.rows, src: new Uint32Array(0), dst: new Uint32Array(0), weight: new Float32Array(0) };
  return { ...none, info: { spec: { ...spec }, nodes: z.rows, edges: 0, isolated: z.rows, meanDegree: 0, capped: 0, ms: 0 } };
}
