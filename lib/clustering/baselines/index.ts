/**
 * Baselines the deep-clustering pipeline starts from and is compared with.
 * @packageDocumentation
 */
export { kmeans, type KMeansOptions, type KMeansResult } from "./kmeans.js";
export { umap, type UmapOptions } from "./umap.js";
export { leidenClusters, mergeToCount, type LeidenClustersOptions, type LeidenClustersResult, type ResolutionTrial } from "./leiden-clusters.js";
