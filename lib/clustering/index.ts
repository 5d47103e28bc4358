/**
 * Clustering: metrics, similarity graphs, community detection, k-means, UMAP and the DCvCD pipeline.
 * `lib/index.ts` re-exports each as its own name (`metrics`, `graph`, `community`, `dcvcd`,
 * `kmeans`, `umap`), which is how notebooks use them.
 * @packageDocumentation
 */
export * as metrics from "./metrics/index.js";
export * as graph from "./graph/index.js";
export * as community from "./community/index.js";
export * as dcvcd from "./dcvcd/index.js";
export { kmeans, umap, leidenClusters, type KMeansOptions, type KMeansResult, type UmapOptions, type LeidenClustersOptions, type LeidenClustersResult } from "./baselines/index.js";
