/**
 * Baselines the deep-clustering pipeline starts from and is compared with.
 * @packageDocumentation
 */
export { kmeans, type KMeansOptions, type KMeansResult } from "./kmeans.js";
