/**
 * Cluster maps at input resolution: every stage's first-block assignment (one cluster per pixel
 * and head), traced back through the stem and the pooling tree to the input pixels — the exact
 * receptive fields the paper draws. Stage 0's pixels map to input pixels through the stem's
 * geometry; each Improved Cluster Pooling's argmax says which pooled pixel every pixel joined,
 * so composing them gives, for each input pixel, its pixel in every later stage.
 */
import { tf } from "../../engine/index.js";
import type { ClusterTrace, CluenetModel } from "../network.js";

/** One stage's cluster map for every image and head. */
export interface StageMaps {
  stage: number;
  heads: number;
  /** The stage's own map size and cluster grid. */
  size: [number, number];
  clusters: [number, number];
  /** Cluster index (row-major over the cluster grid) of every input pixel: [B, heads, H, W] flattened. */
  index: Int32Array;
}

/** Cluster maps of a batch at input resolution (the images' own size, padding removed). */
export interface ClusterMaps {
  batch: number;
  height: number;
  width: number;
  stages: StageMaps[];
  /** The logits of the same forward pass, [B, classes] flattened, and the class count. */
  logits: Float32Array;
  classes: number;
  /** For each stage ≥ 1, how its pixels were reached: "cluster pooling" (exact) or "strided conv" (2×2 geometry). */
  routes: Array<"stem" | "cluster pooling" | "strided conv">;
}

/**
 * Runs `model` on `images` [B, H, W, C] (inference mode) and returns every stage's cluster map per
 * head at input resolution. Leaks nothing.
 *
 * @example
 * const maps = await interpret.clusterMaps(model, batch.x);
 * display(interpret.overlayGrid(maps, 0, { pixels: await batch.x.data() }));
 */
export async function clusterMaps(model: CluenetModel, images: tf.Tensor4D): Promise<ClusterMaps> {
  if (typeof (model as Partial<CluenetModel>)?.trace !== "function") {
    throw new TypeError("clusterMaps needs a CLUENet model (cluenet.create(…) or cluenet.loadPretrained(…))");
  }
  const trace = model.trace(images);
  try {
    return await fromTrace(trace, images.shape[1], images.shape[2]);
  } finally {
    tf.dispose(trace as unknown as tf.TensorContainer);
  }
}

/** Input-resolution maps from a {@link CluenetModel.trace} result (the caller still disposes the trace). */
export async function fromTrace(trace: ClusterTrace, height: number, width: number): Promise<ClusterMaps> {
  const [b, classes] = trace.logits.shape;
  const { size: [hp, wp], padding: [ph, pw], stemStride, stemKernel, stemPad } = trace.input;
  const top = Math.floor(ph / 2);
  const left = Math.floor(pw / 2);
  if (height + ph !== hp || width + pw !== wp) throw new Error(`the trace is of ${hp}×${wp} inputs (padding ${ph}×${pw}), not of ${height}×${width} images`);
  const stageIndex = await Promise.all(trace.stages.map((s) => s.index.data() as Promise<Int32Array>));
  const poolIndex = await Promise.all(trace.pools.map((p) => (p ? (p.index.data() as Promise<Int32Array>) : Promise.resolve(null))));
  const logits = (await trace.logits.data()) as Float32Array;

  const n = height * width;
  const [h0, w0] = trace.stages[0]!.size;
  const stemCell = (i: number, limit: number) => Math.min(limit - 1, Math.max(0, Math.round((i + stemPad - (stemKernel - 1) / 2) / stemStride)));
  // position[p] for the current stage, per image: the stage pixel (row-major) each input pixel belongs to.
  let position = new Int32Array(b * n);
  for (let r = 0; r < height; r++) {
    const row = stemCell(r + top, h0);
    for (let c = 0; c < width; c++) {
      const pixel = row * w0 + stemCell(c + left, w0);
      for (let i = 0; i < b; i++) position[i * n + r * width + c] = pixel;
    }
  }
  const routes: ClusterMaps["routes"] = ["stem"];
  const stages: StageMaps[] = trace.stages.map((stage, s) => {
    const [hs, ws] = stage.size;
    if (s > 0) {
      const pool = poolIndex[s - 1];
      const [hPrev, wPrev] = trace.stages[s - 1]!.size;
      const next = new Int32Array(b * n);
      for (let i = 0; i < b; i++) {
        for (let p = 0; p < n; p++) {
          const prev = position[i * n + p]!;
          next[i * n + p] = pool
            ? pool[i * hPrev * wPrev + prev]!
            : Math.min(hs - 1, Math.floor(Math.floor(prev / wPrev) / 2)) * ws + Math.min(ws - 1, Math.floor((prev % wPrev) / 2));
        }
      }
      position = next;
      routes.push(pool ? "cluster pooling" : "strided conv");
    }
    const heads = stage.index.shape[1];
    const index = new Int32Array(b * heads * n);
    const assigned = stageIndex[s]!;
    for (let i = 0; i < b; i++) {
      for (let h = 0; h < heads; h++) {
        const base = (i * heads + h) * hs * ws;
        const out = (i * heads + h) * n;
        for (let p = 0; p < n; p++) index[out + p] = assigned[base + position[i * n + p]!]!;
      }
    }
    return { stage: s, heads, size: [hs, ws], clusters: stage.clusters, index };
  });
  return { batch: b, height, width, stages, logits, classes, routes };
}

/** The map of image `image`, stage `stage`, head `head`: the cluster index of each input pixel (row-major). */
export function mapOf(maps: ClusterMaps, image: number, stage: number, head: number): Int32Array {
  const s = maps.stages[stage];
  if (!s) throw new RangeError(`stage ${stage} does not exist; the model has stages 0–${maps.stages.length - 1}`);
  if (!Number.isInteger(image) || image < 0 || image >= maps.batch) throw new RangeError(`image ${image} is not in the batch of ${maps.batch}`);
  if (!Number.isInteger(head) || head < 0 || head >= s.heads) throw new RangeError(`stage ${stage} has heads 0–${s.heads - 1}, not ${head}`);
  const n = maps.height * maps.width;
  return s.index.subarray((image * s.heads + head) * n, (image * s.heads + head + 1) * n);
}
