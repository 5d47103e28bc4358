/**
 * Folders of encoded images: one subfolder per class (ImageNet-10, ImageNet-Dogs, any ImageFolder
 * layout), or an images folder with a CSV listing file and label (Mini-ImageNet's layout).
 *
 * @packageDocumentation
 */
import { readdir, stat } from "node:fs/promises";
import { dirname, extname, join, resolve } from "node:path";
import { ImageDataset, type SkipReport } from "../dataset.js";
import { DataError } from "../errors.js";
import { readImageCsv, type CsvRow } from "../formats/csv.js";
import type { Shape } from "../image.js";
import type { Fit } from "../pipeline/source.js";

/** File extensions read as images (what sharp decodes). */
export const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".gif", ".avif"] as const;

/** Options shared by the image-folder readers. */
export interface ImageLoadOptions {
  /**
   * The size every image is decoded to: a number (square) or [height, width]. Default: the size
   * of the first image (so a folder of equal-sized images is read as is).
   */
  size?: number | readonly [number, number];
  /** How a differently shaped image is fitted: `"cover"` (scale, centre-crop; default), `"fill"` (stretch), `"contain"` (letterbox). */
  fit?: Fit;
  /** 3 (RGB, default) or 1 (grey). */
  channels?: 1 | 3;
  /**
   * Leave out images that are missing or cannot be decoded, counting them (`dataset.skipped` when
   * opening, `loader.skipped` while batching), instead of failing. Default false.
   */
  skipBad?: boolean;
}

/** Options of {@link imageFolder}. */
export interface ImageFolderOptions extends ImageLoadOptions {
  /** The folder: `root/<class>/<image>` or, with `csv`, the folder the CSV and images are in. */
  root: string;
  /** A CSV listing images (columns `filename` and `label` unless renamed): reads the listed images only. */
  csv?: string;
  /** With `csv`: the folder the file names are relative to (default `root/images` if it exists, else `root`). */
  images?: string;
  /** With `csv`: the names of the file and label columns (default `filename`, `label`). */
  columns?: { file?: string; label?: string };
  /** Class names in label order (default: the sorted folder names or distinct CSV labels). */
  classes?: readonly string[];
  /** A title for displays (default: the folder's name). */
  name?: string;
}

/** A list of image files with string labels, before it becomes a dataset. */
export interface ImageList {
  paths: string[];
  labels: string[];
}

const MISSING_EXAMPLES = 5;

function isImage(name: string): boolean {
  return (IMAGE_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase());
}

async function listDir(dir: string): Promise<import("node:fs").Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(code === "ENOENT" ? "folder not found" : code === "ENOTDIR" ? "is not a folder" : `cannot list (${code})`, dir);
  }
}

/** `root/<class>/<image>`: classes are the subfolders, sorted; images inside each, sorted. */
export async function listClassFolders(root: string): Promise<ImageList & { classes: string[] }> {
  const entries = await listDir(root);
  const classes = entries.filter((e) => (e.isDirectory() || e.isSymbolicLink()) && !e.name.startsWith(".")).map((e) => e.name).sort();
  if (classes.length === 0) {
    throw new DataError("has no class subfolders (expected root/<class name>/<image files>, or pass { csv })", root);
  }
  const paths: string[] = [];
  const labels: string[] = [];
  for (const cls of classes) {
    const files = (await listDir(join(root, cls))).filter((e) => !e.isDirectory() && !e.name.startsWith(".") && isImage(e.name)).map((e) => e.name).sort();
    for (const f of files) {
      paths.push(join(root, cls, f));
      labels.push(cls);
    }
  }
  if (paths.length === 0) throw new DataError(`its class folders hold no images (expected files ending in ${IMAGE_EXTENSIONS.join(", ")})`, root);
  return { paths, labels, classes };
}

/** The rows of `csv` as image paths under `imagesDir`. */
export async function listCsv(csv: string, imagesDir: string, columns: { file?: string; label?: string } = {}): Promise<ImageList & { rows: CsvRow[] }> {
  const rows = await readImageCsv(csv, columns.file, columns.label);
  if (rows.length === 0) throw new DataError("lists no images", csv);
  return { paths: rows.map((r) => resolve(imagesDir, r.file)), labels: rows.map((r) => r.label), rows };
}

/**
 * Checks that every listed file exists (one directory listing per folder, not one stat per file).
 * Missing files are an error naming the first few, unless `skip`, which drops them and reports.
 */
export async function checkFilesExist(list: ImageList, listedIn: string, skip: boolean): Promise<{ list: ImageList; skipped: SkipReport }> {
  const present = new Map<string, Set<string>>();
  const missing: number[] = [];
  for (let i = 0; i < list.paths.length; i++) {
    const dir = dirname(list.paths[i]!);
    let names = present.get(dir);
    if (!names) {
      names = new Set(await readdir(dir).catch(() => [] as string[]));
      present.set(dir, names);
    }
    if (!names.has(list.paths[i]!.slice(dir.length + 1))) missing.push(i);
  }
  const examples = missing.slice(0, MISSING_EXAMPLES).map((i) => `${list.paths[i]} (missing)`);
  if (missing.length > 0 && !skip) {
    throw new DataError(
      `names ${missing.length} image file${missing.length > 1 ? "s" : ""} that do not exist, e.g. ${list.paths[missing[0]!]}` +
        `${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ""}; fix the paths, or pass { skipBad: true } to leave them out`,
      listedIn,
    );
  }
  if (missing.length === 0) return { list, skipped: { count: 0, examples: [] } };
  const drop = new Set(missing);
  const keep = (_: unknown, i: number) => !drop.has(i);
  return { list: { paths: list.paths.filter(keep), labels: list.labels.filter(keep) }, skipped: { count: missing.length, examples } };
}

/** Resolves the decode shape: the given size, or the first image's. */
export async function decodeShape(options: ImageLoadOptions, firstImage: string): Promise<Shape> {
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new RangeError(`channels must be 1 or 3, got ${String(channels)}`);
  if (options.size !== undefined) {
    const [h, w] = typeof options.size === "number" ? [options.size, options.size] : options.size;
    if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0)) throw new RangeError(`size must be positive integers, got ${String(options.size)}`);
    return [h, w, channels];
  }
  const { imageSize } = await import("../pipeline/decode.js");
  const { height, width } = await imageSize(firstImage);
  return [height, width, channels];
}

/** Builds the dataset from a checked list; `classes` are the label strings in label order, `classNames` what to show. */
export async function imageListDataset(
  list: ImageList,
  classes: readonly string[],
  options: ImageLoadOptions & { name: string; origin: string; skipped: SkipReport; listedIn: string; classNames?: readonly string[] },
): Promise<ImageDataset> {
  const index = new Map(classes.map((c, i) => [c, i]));
  const labels = new Int32Array(list.labels.length);
  for (let i = 0; i < labels.length; i++) {
    const l = index.get(list.labels[i]!);
    if (l === undefined) {
      throw new DataError(`${list.paths[i]} has label "${list.labels[i]}", which is not one of the ${classes.length} classes given`, options.listedIn);
    }
    labels[i] = l;
  }
  const fit = options.fit ?? "cover";
  if (!["cover", "fill", "contain"].includes(fit)) throw new RangeError(`fit must be "cover", "fill" or "contain", got "${String(fit)}"`);
  return new ImageDataset({
    name: options.name,
    classes: options.classNames ?? classes,
    source: { kind: "images", paths: list.paths, shape: await decodeShape(options, list.paths[0]!), fit },
    labels,
    origin: options.origin,
    skipBad: options.skipBad ?? false,
    skipped: options.skipped,
  });
}

async function isDir(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

/**
 * Images in class folders (`root/<class>/<image>`), or listed by a CSV with a label column.
 * Images are decoded (and resized to `size`) by sharp in the batch loader's worker thread.
 */
export async function imageFolder(options: ImageFolderOptions): Promise<ImageDataset> {
  if (!options || typeof options.root !== "string") throw new TypeError("imageFolder needs { root }: the folder of images");
  const root = resolve(options.root);
  let list: ImageList;
  let found: string[] | undefined;
  let listedIn = root;
  if (options.csv !== undefined) {
    listedIn = resolve(root, options.csv);
    const imagesDir = options.images !== undefined ? resolve(root, options.images) : (await isDir(join(root, "images"))) ? join(root, "images") : root;
    list = await listCsv(listedIn, imagesDir, options.columns);
  } else {
    const folders = await listClassFolders(root);
    list = folders;
    found = folders.classes;
  }
  const checked = await checkFilesExist(list, listedIn, options.skipBad ?? false);
  const classes = options.classes ?? found ?? [...new Set(checked.list.labels)].sort();
  if (checked.list.paths.length === 0) throw new DataError("every listed image is missing", listedIn);
  return imageListDataset(checked.list, classes, {
    ...options,
    name: options.name ?? root.split("/").filter(Boolean).at(-1) ?? root,
    origin: root,
    skipped: checked.skipped,
    listedIn,
  });
}
