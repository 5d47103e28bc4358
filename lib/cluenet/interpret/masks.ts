/** Cluster maps as binary masks, for users' own analysis. */
import { mapOf, type ClusterMaps } from "./trace.js";

/** One non-empty cluster of one map: its index and its pixels. */
export interface ClusterMask {
  /** Index in the stage's cluster grid (row-major). */
  cluster: number;
  /** 1 where the input pixel belongs to this cluster, row-major H×W. */
  mask: Uint8Array;
  /** Number of pixels in the mask. */
  pixels: number;
}

/**
 * The raw masks of image `image`, stage `stage`, head `head`: one binary H×W mask per non-empty
 * cluster (empty clusters are left out, as the paper's drawings), in cluster order. Together they
 * cover every pixel exactly once.
 */
export function masks(maps: ClusterMaps, image: number, stage: number, head: number): ClusterMask[] {
  const map = mapOf(maps, image, stage, head);
  const [ch, cw] = maps.stages[stage]!.clusters;
  const out = new Map<number, ClusterMask>();
  for (let p = 0; p < map.length; p++) {
    const m = map[p]!;
    let entry = out.get(m);
    if (!entry) out.set(m, (entry = { cluster: m, mask: new Uint8Array(map.length), pixels: 0 }));
    entry.mask[p] = 1;
    entry.pixels++;
  }
  if ([...out.keys()].some((m) => m < 0 || m >= ch * cw)) throw new Error(`a cluster index is outside the ${ch}×${cw} grid`);
  return [...out.values()].sort((a, b) => a.cluster - b.cluster);
}
