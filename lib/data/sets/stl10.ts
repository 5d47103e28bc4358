/**
 * STL-10, binary version (Coates, Lee & Ng 2011, https://cs.stanford.edu/~acoates/stl10/): 96×96
 * colour images; `<split>_X.bin` holds 3×96×96 bytes per image, one channel after another, each
 * channel in column-major order; `<split>_y.bin` holds one label byte per image, 1 to 10;
 * `unlabeled_X.bin` (100,000 images) has no labels.
 *
 * @packageDocumentation
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ImageDataset } from "../dataset.js";
import { DataError } from "../errors.js";
import { countRecords, readNames } from "../formats/records.js";
import { locate } from "../locate.js";

/** STL-10's class names (as in `class_names.txt`). */
export const STL10_CLASSES = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"] as const;

const RECORD = 3 * 96 * 96;

/** Options of {@link stl10}. */
export interface Stl10Options {
  /** `"train"` (5,000), `"test"` (8,000) or `"unlabeled"` (100,000 images, labels −1); default `"train"`. */
  split?: "train" | "test" | "unlabeled";
  /** The folder holding `stl10_binary` (or its files). */
  root?: string;
}

/** STL-10, binary version: 96×96 colour images of 10 classes, plus 100,000 unlabelled ones. */
export async function stl10(options: Stl10Options = {}): Promise<ImageDataset> {
  const split = options.split ?? "train";
  if (!["train", "test", "unlabeled"].includes(split)) {
    throw new RangeError(`STL-10: split must be "train", "test" or "unlabeled", got "${String(split)}"`);
  }
  const images = `${split}_X.bin`;
  const labelsName = split === "unlabeled" ? undefined : `${split}_y.bin`;
  const names = labelsName ? [images, labelsName] : [images];
  const { dir } = await locate(
    {
      name: "stl10",
      title: `STL-10 (${split})`,
      subdirs: ["stl10_binary"],
      probe: async (d) => (names.every((n) => existsSync(join(d, n))) ? d : undefined),
      expected: `${names.join(" and ")} (the binary version, stl10_binary.tar.gz)`,
      downloadable: true,
    },
    options.root,
  );
  const imagesFile = join(dir, images);
  const count = await countRecords(imagesFile, RECORD, "STL-10 image");
  let labels: Int32Array;
  if (labelsName) {
    const labelsFile = join(dir, labelsName);
    const raw = await readFile(labelsFile);
    if (raw.length !== count) {
      throw new DataError(`holds ${raw.length} labels but ${images} holds ${count} images (expected one label byte per image)`, labelsFile);
    }
    labels = Int32Array.from(raw, (l) => l - 1); // the files count classes from 1
    const bad = labels.findIndex((l) => l < 0 || l > 9);
    if (bad >= 0) throw new DataError(`label ${raw[bad]} of sample ${bad} is out of range (expected 1–10, as STL-10 numbers its classes)`, labelsFile);
  } else {
    labels = new Int32Array(count).fill(-1);
  }
  const names10 = await readNames(join(dir, "class_names.txt"));
  if (names10 && names10.length !== 10) throw new DataError(`lists ${names10.length} class names, expected 10`, join(dir, "class_names.txt"));
  return new ImageDataset({
    name: `STL-10 (${split})`,
    classes: names10 ?? STL10_CLASSES,
    source: { kind: "files", files: [{ path: imagesFile, count, offset: 0 }], recordBytes: RECORD, pixelOffset: 0, layout: "chw-column-major", shape: [96, 96, 3] },
    labels,
    origin: dir,
  });
}
