/**
 * MNIST and Fashion-MNIST: four IDX files (gzipped or not) per dataset, 28×28 grey images.
 *
 * @packageDocumentation
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { checkLabels, ImageDataset } from "../dataset.js";
import { DataError } from "../errors.js";
import { readIdx } from "../formats/idx.js";
import { locate } from "../locate.js";

/** Options of the MNIST-family readers. */
export interface IdxSetOptions {
  /** `"train"` (60,000 images) or `"test"` (10,000); default `"train"`. */
  split?: "train" | "test";
  /** The folder holding the IDX files; default: search `$CLUELAB_DATA`, system locations, the user cache. */
  root?: string;
}

/** Fashion-MNIST's class names, in label order. */
export const FASHION_MNIST_CLASSES = [
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
] as const;

/** MNIST's class names (the digits), in label order. */
export const MNIST_CLASSES = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] as const;

interface IdxSet {
  name: string;
  title: string;
  classes: readonly string[];
}

const FILES = { train: "train", test: "t10k" } as const;

function findIdxPair(dir: string, split: "train" | "test"): { images: string; labels: string } | undefined {
  const prefix = FILES[split];
  const pick = (base: string) => [join(dir, `${base}.gz`), join(dir, base)].find((f) => existsSync(f));
  const images = pick(`${prefix}-images-idx3-ubyte`);
  const labels = pick(`${prefix}-labels-idx1-ubyte`);
  return images && labels ? { images, labels } : undefined;
}

async function idxDataset(set: IdxSet, options: IdxSetOptions): Promise<ImageDataset> {
  const split = options.split ?? "train";
  if (split !== "train" && split !== "test") throw new RangeError(`${set.title}: split must be "train" or "test", got "${String(split)}"`);
  const prefix = FILES[split];
  const { dir, found } = await locate(
    {
      name: set.name,
      title: `${set.title} (${split})`,
      probe: async (d) => findIdxPair(d, split),
      expected: `${prefix}-images-idx3-ubyte[.gz] and ${prefix}-labels-idx1-ubyte[.gz]`,
      downloadable: true,
    },
    options.root,
  );
  const [images, labels] = await Promise.all([readIdx(found.images), readIdx(found.labels)]);
  if (images.dims.length !== 3) {
    throw new DataError(`expected N×height×width images (rank 3), found dimensions ${images.dims.join("×")}`, found.images);
  }
  const [count, height, width] = images.dims as [number, number, number];
  if (labels.dims.length !== 1 || labels.dims[0] !== count) {
    throw new DataError(`expected ${count} labels to match the images, found dimensions ${labels.dims.join("×")}`, found.labels);
  }
  checkLabels(labels.data, set.classes.length, found.labels);
  return new ImageDataset({
    name: `${set.title} (${split})`,
    classes: set.classes,
    source: { kind: "memory", file: found.images, bytes: images.data, recordBytes: height * width, pixelOffset: 0, layout: "hwc", shape: [height, width, 1] },
    labels: Int32Array.from(labels.data),
    origin: dir,
  });
}

/** Fashion-MNIST (Xiao et al. 2017): 28×28 grey images of 10 kinds of clothing; Debian ships it. */
export function fashionMnist(options: IdxSetOptions = {}): Promise<ImageDataset> {
  return idxDataset({ name: "fashion-mnist", title: "Fashion-MNIST", classes: FASHION_MNIST_CLASSES }, options);
}

/** MNIST (LeCun et al. 1998): 28×28 grey handwritten digits. */
export function mnist(options: IdxSetOptions = {}): Promise<ImageDataset> {
  return idxDataset({ name: "mnist", title: "MNIST", classes: MNIST_CLASSES }, options);
}
