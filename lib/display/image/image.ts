import { encode } from "fast-png";
import { Rich } from "../mime.js";
import { escapeHtml, toBase64 } from "../text.js";
import {
  checkScale,
  checkShape,
  resolveRange,
  to8bit,
  type Channels,
  type Image8,
  type PixelArray,
  type RawImage,
  type ValueRange,
} from "./pixels.js";

/** Options of {@link image}. */
export interface ImageOptions {
  width: number;
  height: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA; inferred from the length when omitted. */
  channels?: Channels;
  /** Value range mapped to 0–255 (default `"auto"`: [0, 1] or 0–255, decided from the data). */
  range?: ValueRange;
  /** Integer nearest-neighbour upscaling, e.g. 4 to show a 28×28 digit at 112×112 (default 1). */
  scale?: number;
}

/** An image output: the PNG it was encoded to, and its size in pixels (after scaling). */
export class PngImage extends Rich {
  constructor(
    /** The encoded PNG file. */
    readonly png: Uint8Array,
    readonly width: number,
    readonly height: number,
    text: string,
    extra: Record<string, string> = {},
  ) {
    super({ ...extra, "image/png": toBase64(png), "text/plain": text });
  }
}

/**
 * An image from raw pixels (row-major, channels interleaved — the layout of `await t.data()` for
 * an `[height, width, channels]` tensor), with values in [0, 1] or 0–255, encoded as PNG.
 *
 * @example
 * display(image(await digit.data(), { width: 28, height: 28, scale: 4 }));
 */
export function image(pixels: PixelArray, options: ImageOptions): PngImage {
  const what = "image()";
  if (options === undefined || options === null) throw new TypeError(`${what}: options { width, height } are required`);
  const raw: RawImage = { pixels, width: options.width, height: options.height, ...(options.channels ? { channels: options.channels } : {}) };
  const channels = checkShape(raw, what);
  const range = resolveRange([raw], options.range ?? "auto", what);
  const img = to8bit(raw, channels, range, checkScale(options.scale, what));
  return new PngImage(encodePng(img), img.width, img.height, `[image ${options.width}×${options.height}, ${CHANNEL_NAMES[channels]}]`);
}

/** Options of {@link imageGrid}. */
export interface ImageGridOptions {
  /** Images per row (default: about the square root of the count). */
  columns?: number;
  /** One caption per image, shown under it (the output is then HTML with a PNG fallback). */
  labels?: readonly string[];
  /** Integer nearest-neighbour upscaling of every image (default 1). */
  scale?: number;
  /** Pixels between images, after scaling (default 2); the gap is white. */
  gap?: number;
  /** Value range for all images alike (default `"auto"`). */
  range?: ValueRange;
  /** Size and channels of images given as bare pixel arrays. */
  width?: number;
  height?: number;
  channels?: Channels;
}

/**
 * A grid of images (a batch of a dataset, cluster maps, filters), encoded as one PNG; with
 * `labels`, an HTML grid with a caption under every image (and the PNG as fallback).
 * Images are raw pixel arrays as for {@link image}: either `{ pixels, width, height, channels? }`
 * each, or bare arrays sharing `width`/`height`/`channels` from the options.
 * All images share one value range, so their brightness stays comparable.
 *
 * @example
 * display(imageGrid(digits, { width: 28, height: 28, columns: 8, labels: names, scale: 2 }));
 */
export function imageGrid(images: readonly (RawImage | PixelArray)[], options: ImageGridOptions = {}): PngImage {
  const what = "imageGrid()";
  if (!Array.isArray(images) || images.length === 0) throw new TypeError(`${what}: expected a non-empty array of images`);
  const raws = images.map((im, i) => asRaw(im, options, `${what}: image ${i}`));
  const shapes = raws.map((raw, i) => checkShape(raw, `${what}: image ${i}`));
  const range = resolveRange(raws, options.range ?? "auto", what);
  const scale = checkScale(options.scale, what);
  const gap = options.gap ?? 2;
  if (!Number.isInteger(gap) || gap < 0) throw new RangeError(`${what}: gap must be a non-negative integer, got ${options.gap}`);
  const columns = Math.min(raws.length, options.columns ?? Math.ceil(Math.sqrt(raws.length)));
  if (!Number.isInteger(columns) || columns < 1) throw new RangeError(`${what}: columns must be a positive integer, got ${options.columns}`);
  const labels = options.labels;
  if (labels !== undefined && (!Array.isArray(labels) || labels.length !== raws.length)) {
    throw new RangeError(`${what}: labels must have one string per image (${raws.length}), got ${labels?.length ?? typeof labels}`);
  }
  // Mixed layouts are shown in the richest one (gray is replicated, missing alpha is opaque).
  const channels = shapes.every((c) => c === shapes[0]) ? shapes[0]! : shapes.some((c) => c === 2 || c === 4) ? 4 : 3;
  const tiles = raws.map((raw, i) => widen(to8bit(raw, shapes[i]!, range, scale), channels));
  const grid = compose(tiles, columns, gap, channels);
  const sizes = new Set(raws.map((r) => `${r.width}×${r.height}`));
  const text =
    `[image grid: ${raws.length} images ${[...sizes].join(", ")}, ${columns} per row]` +
    (labels ? `\n${labels.join(", ")}` : "");
  const extra: Record<string, string> = labels ? { "text/html": gridHtml(raws, shapes, range, scale, labels, columns, gap) } : {};
  return new PngImage(encodePng(grid), grid.width, grid.height, text, extra);
}

const CHANNEL_NAMES: Record<Channels, string> = { 1: "gray", 2: "gray+alpha", 3: "RGB", 4: "RGBA" };

function encodePng(img: Image8): Uint8Array {
  return encode({ width: img.width, height: img.height, data: img.data, channels: img.channels, depth: 8 });
}

function asRaw(image: RawImage | PixelArray, options: ImageGridOptions, what: string): RawImage {
  if (image !== null && typeof image === "object" && "pixels" in image) return image;
  if (options.width === undefined || options.height === undefined) {
    throw new TypeError(`${what} is a bare pixel array: pass width and height in the options, or give { pixels, width, height }`);
  }
  return { pixels: image, width: options.width, height: options.height, ...(options.channels ? { channels: options.channels } : {}) };
}

function widen(tile: Image8, channels: Channels): Image8 {
  if (tile.channels === channels) return tile;
  const n = tile.width * tile.height;
  const data = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++) {
    const s = i * tile.channels;
    const gray = tile.channels <= 2;
    const rgb = gray ? [tile.data[s]!, tile.data[s]!, tile.data[s]!] : [tile.data[s]!, tile.data[s + 1]!, tile.data[s + 2]!];
    const alpha = tile.channels === 2 ? tile.data[s + 1]! : tile.channels === 4 ? tile.data[s + 3]! : 255;
    data.set(channels === 4 ? [...rgb, alpha] : rgb, i * channels);
  }
  return { ...tile, data, channels };
}

function compose(tiles: readonly Image8[], columns: number, gap: number, channels: Channels): Image8 {
  const cellW = Math.max(...tiles.map((t) => t.width));
  const cellH = Math.max(...tiles.map((t) => t.height));
  const rows = Math.ceil(tiles.length / columns);
  const width = columns * cellW + (columns - 1) * gap;
  const height = rows * cellH + (rows - 1) * gap;
  const data = new Uint8Array(width * height * channels).fill(255);
  tiles.forEach((tile, i) => {
    const x0 = (i % columns) * (cellW + gap);
    const y0 = Math.floor(i / columns) * (cellH + gap);
    const rowBytes = tile.width * channels;
    for (let y = 0; y < tile.height; y++) {
      data.set(tile.data.subarray(y * rowBytes, (y + 1) * rowBytes), ((y0 + y) * width + x0) * channels);
    }
  });
  return { data, width, height, channels };
}

function gridHtml(
  raws: readonly RawImage[],
  shapes: readonly Channels[],
  range: readonly [number, number],
  scale: number,
  labels: readonly string[],
  columns: number,
  gap: number,
): string {
  // Tiles at their own resolution, enlarged by the browser without smoothing: the page stays small.
  const cells = raws.map((raw, i) => {
    const src = toBase64(encodePng(to8bit(raw, shapes[i]!, range, 1)));
    const label = escapeHtml(labels[i]!);
    return (
      `<figure style="margin:0;text-align:center">` +
      `<img src="data:image/png;base64,${src}" width="${raw.width * scale}" height="${raw.height * scale}" ` +
      `style="image-rendering:pixelated" alt="${label}">` +
      `<figcaption style="font:12px sans-serif;margin-top:2px">${label}</figcaption></figure>`
    );
  });
  return `<div style="display:grid;grid-template-columns:repeat(${columns},max-content);gap:${gap}px">${cells.join("")}</div>`;
}
