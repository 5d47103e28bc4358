/**
 * How datasets and batches show themselves in a notebook: an image grid with each image's class
 * name under it (HTML, with one PNG as fallback) and a one-line text summary. Rendering goes
 * through `cluelab/display`'s `imageGrid`.
 *
 * @packageDocumentation
 */
import { imageGrid } from "../display/image/image.js";
import type { RawImage } from "../display/image/pixels.js";
import { JUPYTER_DISPLAY } from "../display/protocol.js";
import type { tf } from "../engine/tf.js";
import { formatShape, type Image, type Shape } from "./image.js";
import { resampleBox } from "./transforms/geometry.js";

/** Images shown for a dataset and for a batch. */
const DATASET_TILES = 24;
const BATCH_TILES = 32;
/** Larger images are shown downscaled to this side, so a grid of 224-pixel images stays light. */
const MAX_SIDE = 96;

/** What the display needs to know about a dataset (kept structural to avoid an import cycle). */
export interface DisplayableDataset {
  readonly length: number;
  readonly classes: readonly string[];
  readonly shape: Shape;
  readonly name: string;
  subset(n: number, options?: { seed?: number }): DisplayableDataset;
  get(i: number): Promise<{ image: Image; label: number }>;
  toString(): string;
}

function tile(image: Image): RawImage {
  const side = Math.max(image.height, image.width);
  const shown =
    side > MAX_SIDE
      ? resampleBox(image, 0, 0, image.height, image.width, Math.round((image.height * MAX_SIDE) / side), Math.round((image.width * MAX_SIDE) / side))
      : image;
  return { pixels: shown.data, width: shown.width, height: shown.height, channels: shown.channels as 1 | 3 };
}

function labelName(classes: readonly string[], label: number): string {
  return label >= 0 ? (classes[label] ?? String(label)) : "unlabelled";
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function bundle(tiles: RawImage[], labels: string[], summary: string, columns: number, side: number): Record<string, unknown> {
  const grid = imageGrid(tiles, { labels, columns, scale: side <= 32 ? 2 : 1, range: [0, 1] });
  const shown = grid[JUPYTER_DISPLAY]();
  return {
    ...shown,
    "text/html": `<div style="font:13px sans-serif;margin-bottom:4px">${escapeHtml(summary)}</div>${String(shown["text/html"])}`,
    "text/plain": `${summary}\n${shown["text/plain"]}`,
  };
}

/** A dataset's display: a seeded, class-stratified sample of its images with class names. */
export async function datasetBundle(ds: DisplayableDataset): Promise<Record<string, unknown>> {
  if (ds.length === 0) return { "text/plain": ds.toString() };
  const sample = ds.length <= DATASET_TILES ? ds : ds.subset(DATASET_TILES, { seed: 0 });
  const items = [];
  for (let i = 0; i < sample.length; i++) items.push(await sample.get(i));
  const side = Math.max(ds.shape[0], ds.shape[1]);
  const note = sample.length < ds.length ? ` (showing ${sample.length})` : "";
  return bundle(
    items.map((s) => tile(s.image)),
    items.map((s) => labelName(ds.classes, s.label)),
    `${ds}${note}`,
    Math.min(8, items.length),
    side,
  );
}

/** The normalisation to undo before showing augmented images. */
export type NormalizeInfo = { mean: readonly number[]; std: readonly number[] } | undefined;

/** A batch's display: its first images (each view on its own rows) with class names. */
export function batchBundle(views: tf.Tensor4D[], y: tf.Tensor1D, classes: readonly string[], normalize: NormalizeInfo): Record<string, unknown> {
  const [b, h, w, c] = views[0]!.shape;
  const count = Math.min(b, Math.floor(BATCH_TILES / views.length));
  const labels = Array.from(y.dataSync().subarray(0, count), (l) => labelName(classes, l));
  const tiles: RawImage[] = [];
  const names: string[] = [];
  views.forEach((view, v) => {
    const data = view.dataSync() as Float32Array;
    for (let i = 0; i < count; i++) {
      const pixels = data.slice(i * h * w * c, (i + 1) * h * w * c);
      for (let p = 0; p < pixels.length; p++) {
        const k = p % c;
        const value = normalize ? pixels[p]! * normalize.std[k]! + normalize.mean[k]! : pixels[p]!;
        pixels[p] = Math.min(1, Math.max(0, value));
      }
      tiles.push(tile({ data: pixels, height: h, width: w, channels: c }));
      names.push(views.length > 1 ? `${labels[i]} (view ${v + 1})` : labels[i]!);
    }
  });
  const what = views.length > 1 ? `${views.length} views of ${formatShape([b, h, w, c])}` : formatShape([b, h, w, c]);
  const shown = count < b ? ` (showing ${count})` : "";
  const undone = normalize ? "; normalisation undone for display" : "";
  return bundle(tiles, names, `batch: x ${what} float32, y [${b}] int32${shown}${undone}`, Math.min(8, count), Math.max(h, w));
}
