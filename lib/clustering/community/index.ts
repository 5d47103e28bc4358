/**
 * Community detection on weighted undirected graphs: Leiden (the default everywhere in cluelab),
 * Louvain for comparison, and modularity itself.
 * @packageDocumentation
 */
export { leiden, louvain, leidenCsr, type CommunityOptions, type CommunityResult } from "./leiden.js";
export { modularity, moveDelta, moveGain } from "./modularity.js";
export { splitDisconnected, renumberBySize } from "./connectivity.js";
