/**
 * cluelab: cluster-based vision (CLUENet) and deep clustering (DCvCD) on TensorFlow.js.
 *
 * Importing this module selects the compute backend (see {@link engine.ready}); `tf` is the very
 * TensorFlow.js namespace the library computes with, so tensors made with it work everywhere.
 *
 * @packageDocumentation
 */
import * as cluenet from "./cluenet/index.js";
import * as engine from "./engine/index.js";
import * as nn from "./nn/index.js";

export { tf } from "./engine/index.js";
export { engine, nn, cluenet };
/** The papers' datasets from their real formats, with seeded batch loaders (see {@link datasets.fashionMnist}). */
export * as datasets from "./data/index.js";
/** Seeded, composable augmentations for `dataset.batches({ augment })`, named after torchvision's. */
export * as transforms from "./data/transforms/index.js";
/** Training loop, AdamW, schedules, checkpoints, live views, recipes and ablations. */
export * as train from "./train/index.js";
/** CLUENet's cluster maps traced to input pixels, occlusion ranking, overlays and heatmaps. */
export * as interpret from "./cluenet/interpret/index.js";
// Clustering: short top-level names, as notebooks write them (`metrics.nmi`, `community.leiden`).
export { metrics, graph, community, dcvcd, kmeans, umap, leidenClusters, type KMeansOptions, type KMeansResult, type UmapOptions, type LeidenClustersOptions, type LeidenClustersResult } from "./clustering/index.js";
export type { Encoder } from "./train/encoder.js";

// The backend is chosen before any tensor exists, so a notebook never starts on a backend the
// library would later switch away from. A bad CLUELAB_BACKEND fails the import with its reason.
await engine.ready();
