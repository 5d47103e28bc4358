/**
 * Sparse similarity graphs from embeddings (built tile by tile with matMul, never dense) and
 * their compressed-sparse-row form.
 * @packageDocumentation
 */
export { similarityGraph, thresholdGraph, knnGraph, DEFAULT_GRAPH, type BuildOptions } from "./similarity.js";
export { toCsr, checkEdgeList } from "./csr.js";
export { readEmbeddings, normalizedRows, selectRows, type Embeddings, type RowMatrix } from "./embeddings.js";
export type { EdgeList, CsrGraph, GraphSpec, GraphInfo, SimilarityGraph } from "./types.js";
