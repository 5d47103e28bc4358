/**
 * The cluster maps that give CLUENet its "eyes": per stage and head, every pixel's cluster
 * (the first block's argmax assignment), traced through the stem and the pooling tree to input
 * pixels; clusters ranked by occlusion as the paper does; drawn as coloured overlays side by
 * side and as Plotly heatmaps; and the raw masks for your own analysis.
 *
 * ```ts
 * const maps = await interpret.clusterMaps(model, x);                 // x: [B, H, W, C] as the model takes it
 * display(interpret.overlayGrid(maps, 0, { pixels: await raw.data() })); // raw: the same images in [0, 1]
 * const m = interpret.masks(maps, 0, 1, 0);                             // image 0, stage 1, head 0
 * const { ranking } = await interpret.rankClusters(model, x.slice([0], [1]), label, m);
 * ```
 * @packageDocumentation
 */
export { clusterMaps, fromTrace, mapOf, type ClusterMaps, type StageMaps } from "./trace.js";
export { masks, type ClusterMask } from "./masks.js";
export { rankClusters, gaussianBlur, type OcclusionOptions, type OcclusionRanking, type ClusterImportance, type Classifier } from "./occlusion.js";
export { overlay, overlayGrid, overlayPixels, colorMap, type BaseImage, type OverlayOptions } from "./overlay.js";
export { heatmap, importanceHeatmap } from "./heatmap.js";
export { clusterColor, cssColor } from "./palette.js";
