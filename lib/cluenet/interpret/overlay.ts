/** Cluster maps drawn as coloured overlays on the image, side by side across stages and heads. */
import { imageGrid, type PngImage, type RawImage } from "../../display/index.js";
import { clusterColor } from "./palette.js";
import { mapOf, type ClusterMaps } from "./trace.js";

/** The image the overlays are drawn on: pixels in [0, 1] (un-normalised), HWC. */
export interface BaseImage {
  /** The whole batch's pixels ([B, H, W, C] row-major, e.g. `await x.data()`), or just this image's. */
  pixels: ArrayLike<number>;
  /** Channels (1 grey or 3 RGB; default: inferred from the length). */
  channels?: number;
}

/** Options of {@link overlay} and {@link overlayGrid}. */
export interface OverlayOptions {
  /** Weight of the cluster colour over the image (default 0.55). */
  alpha?: number;
  /** Only these clusters are coloured (e.g. the top of an occlusion ranking); the rest stays grey. */
  only?: readonly number[];
}

function imagePixels(maps: ClusterMaps, image: number, base: BaseImage): { pixels: ArrayLike<number>; channels: number; offset: number } {
  const n = maps.height * maps.width;
  const length = base.pixels.length;
  // The whole batch when the length fits it, else one image.
  const whole = length % (maps.batch * n) === 0 && [1, 3].includes(length / (maps.batch * n));
  const channels = base.channels ?? (whole ? length / (maps.batch * n) : length / n);
  const batchLayout = length === maps.batch * n * channels;
  if (![1, 3].includes(channels) || (!batchLayout && length !== n * channels)) {
    throw new RangeError(`the base image has ${length} values: expected ${maps.height}×${maps.width}×(1 or 3) for one image, or that for each of the ${maps.batch} images`);
  }
  return { pixels: base.pixels, channels, offset: batchLayout ? image * n * channels : 0 };
}

/** RGB 0–255 pixels of image `image` with `map` (a cluster per pixel) blended over it. */
export function overlayPixels(maps: ClusterMaps, image: number, map: Int32Array | null, base: BaseImage, options: OverlayOptions = {}): Uint8Array {
  const { pixels, channels, offset } = imagePixels(maps, image, base);
  const n = maps.height * maps.width;
  const own = offset === 0 && pixels.length === n * channels ? pixels : Array.prototype.slice.call(pixels, offset, offset + n * channels) as number[];
  return colorMap(map, maps.width, maps.height, { base: own, channels, ...options }).pixels as Uint8Array;
}

/**
 * A cluster map (one cluster index per pixel, row-major) in the clusters' colours, blended over
 * `base` (pixels in [0, 1], grey or RGB) when given: an RGB image for `image` / `imageGrid`.
 * With `map` null, just the base image in RGB.
 */
export function colorMap(
  map: ArrayLike<number> | null,
  width: number,
  height: number,
  options: OverlayOptions & { base?: ArrayLike<number>; channels?: number } = {},
): RawImage & { pixels: Uint8Array } {
  const alpha = options.base ? (options.alpha ?? 0.55) : 1;
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`alpha must be in [0, 1], got ${alpha}`);
  const n = width * height;
  if (map && map.length !== n) throw new RangeError(`the map has ${map.length} values, not ${width}×${height}`);
  const channels = options.channels ?? (options.base ? options.base.length / n : 1);
  if (options.base && (![1, 3].includes(channels) || options.base.length !== n * channels)) {
    throw new RangeError(`the base image has ${options.base.length} values, not ${width}×${height}×(1 or 3)`);
  }
  if (!map && !options.base) throw new RangeError("colorMap needs a map, a base image, or both");
  const only = options.only ? new Set(options.only) : null;
  const out = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    const m = map?.[p];
    const coloured = m !== undefined && (only === null || only.has(m));
    const color = coloured ? clusterColor(m) : null;
    for (let k = 0; k < 3; k++) {
      const v = options.base ? Math.min(1, Math.max(0, options.base[p * channels + (channels === 1 ? 0 : k)]!)) * 255 : 255;
      out[p * 3 + k] = Math.round(color ? (1 - alpha) * v + alpha * color[k]! : v);
    }
  }
  return { pixels: out, width, height, channels: 3 };
}

/** One overlay: image `image` of the batch with the cluster map of `stage` and `head`. */
export function overlay(maps: ClusterMaps, image: number, stage: number, head: number, base: BaseImage, options: OverlayOptions & { scale?: number } = {}): PngImage {
  const raw: RawImage = { pixels: overlayPixels(maps, image, mapOf(maps, image, stage, head), base, options), width: maps.width, height: maps.height, channels: 3 };
  return imageGrid([raw], { columns: 1, scale: options.scale ?? 4, range: [0, 255], labels: [`stage ${stage} · head ${head}`] });
}

/**
 * Image `image` with every stage's cluster map per head, side by side: one row per stage (its
 * heads across), the plain image first. Labels name the stage, head and how many clusters are used.
 */
export function overlayGrid(
  maps: ClusterMaps,
  image: number,
  base: BaseImage,
  options: OverlayOptions & { scale?: number; stages?: readonly number[]; maxHeads?: number } = {},
): PngImage {
  const stages = options.stages ?? maps.stages.map((s) => s.stage);
  const maxHeads = Math.min(options.maxHeads ?? Infinity, Math.max(...stages.map((s) => maps.stages[s]!.heads)));
  const blank: RawImage = { pixels: new Uint8Array(maps.height * maps.width * 3).fill(255), width: maps.width, height: maps.height, channels: 3 };
  const plain: RawImage = { pixels: overlayPixels(maps, image, null, base), width: maps.width, height: maps.height, channels: 3 };
  const tiles: RawImage[] = [];
  const labels: string[] = [];
  for (const s of stages) {
    const stage = maps.stages[s];
    if (!stage) throw new RangeError(`stage ${s} does not exist; the model has stages 0–${maps.stages.length - 1}`);
    tiles.push(plain);
    labels.push(`stage ${s} (${stage.size[0]}×${stage.size[1]})`);
    for (let h = 0; h < maxHeads; h++) {
      if (h >= stage.heads) {
        tiles.push(blank);
        labels.push("");
        continue;
      }
      const map = mapOf(maps, image, s, h);
      tiles.push({ pixels: overlayPixels(maps, image, map, base, options), width: maps.width, height: maps.height, channels: 3 });
      labels.push(`head ${h}: ${new Set(map).size} clusters`);
    }
  }
  return imageGrid(tiles, { columns: maxHeads + 1, scale: options.scale ?? 3, range: [0, 255], labels, gap: 4 });
}
