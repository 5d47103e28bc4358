/**
 * External clustering metrics, as fractions: accuracy under the best cluster-to-class matching,
 * normalized mutual information and the adjusted Rand index. They agree with scikit-learn's
 * `normalized_mutual_info_score`, `adjusted_rand_score` and accuracy through scipy's
 * `linear_sum_assignment` (checked in the tests).
 * @packageDocumentation
 */
export { clusteringAccuracy } from "./accuracy.js";
export { nmi, ari } from "./information.js";
export { contingency, denseLabels, type Labels, type Contingency, type DenseLabels } from "./labels.js";
