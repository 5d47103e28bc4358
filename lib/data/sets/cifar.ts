/**
 * CIFAR-10 and CIFAR-100, binary versions (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html):
 * each record is the label byte(s) then 3072 pixel bytes, the red, green and blue 32×32 planes in
 * row-major order. CIFAR-10: `<1 x label><3072 x pixel>`, files `data_batch_1..5.bin` and
 * `test_batch.bin`. CIFAR-100: `<1 x coarse label><1 x fine label><3072 x pixel>`, files `train.bin`
 * and `test.bin`. CIFAR-20, the deep-clustering benchmark, is CIFAR-100 with its 20 coarse labels.
 *
 * @packageDocumentation
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { checkLabels, ImageDataset } from "../dataset.js";
import { DataError } from "../errors.js";
import { countRecords, readNames, scanRecordBytes } from "../formats/records.js";
import { locate } from "../locate.js";
import type { RecordFile } from "../pipeline/source.js";

const PIXELS = 3 * 32 * 32;

/** CIFAR-10's class names (as in `batches.meta.txt`). */
export const CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"] as const;

/** CIFAR-100's 100 fine class names (as in `fine_label_names.txt`). */
export const CIFAR100_FINE_CLASSES = [
  "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle", "bowl", "boy", "bridge",
  "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud",
  "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox", "girl",
  "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man",
  "maple_tree", "motorcycle", "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear",
  "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road",
  "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider", "squirrel",
  "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor", "train",
  "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
] as const;

/** CIFAR-100's 20 coarse (superclass) names (as in `coarse_label_names.txt`). */
export const CIFAR100_COARSE_CLASSES = [
  "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables", "household_electrical_devices",
  "household_furniture", "insects", "large_carnivores", "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
  "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals",
  "trees", "vehicles_1", "vehicles_2",
] as const;

/** Options of {@link cifar10}. */
export interface Cifar10Options {
  /** `"train"` (50,000 images) or `"test"` (10,000); default `"train"`. */
  split?: "train" | "test";
  /** The folder holding `cifar-10-batches-bin` (or its files); default: search the usual places. */
  root?: string;
}

/** Options of {@link cifar100}. */
export interface Cifar100Options {
  split?: "train" | "test";
  /** `"fine"` (100 classes, default) or `"coarse"` (20 superclasses: CIFAR-20). */
  labels?: "fine" | "coarse";
  /** The folder holding `cifar-100-binary` (or its files). */
  root?: string;
}

function checkSplit(split: unknown, title: string): "train" | "test" {
  if (split !== "train" && split !== "test") throw new RangeError(`${title}: split must be "train" or "test", got "${String(split)}"`);
  return split;
}

/** Class names from the dataset's own file when present (it must agree in count), else the built-in list. */
async function classNames(file: string, builtIn: readonly string[]): Promise<readonly string[]> {
  const names = await readNames(file);
  if (names === undefined) return builtIn;
  if (names.length !== builtIn.length) {
    throw new DataError(`lists ${names.length} class names, expected ${builtIn.length}`, file);
  }
  return names;
}

async function recordFiles(paths: string[], recordBytes: number, what: string): Promise<RecordFile[]> {
  return Promise.all(paths.map(async (path) => ({ path, count: await countRecords(path, recordBytes, what), offset: 0 })));
}

/** CIFAR-10, binary version: 32×32 colour images of 10 classes. */
export async function cifar10(options: Cifar10Options = {}): Promise<ImageDataset> {
  const split = checkSplit(options.split ?? "train", "CIFAR-10");
  const names = split === "train" ? [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`) : ["test_batch.bin"];
  const { dir } = await locate(
    {
      name: "cifar10",
      title: `CIFAR-10 (${split})`,
      subdirs: ["cifar-10-batches-bin"],
      probe: async (d) => (names.every((n) => existsSync(join(d, n))) ? d : undefined),
      expected: `${names.join(", ")} (the binary version, cifar-10-binary.tar.gz)`,
      downloadable: true,
    },
    options.root,
  );
  const recordBytes = 1 + PIXELS;
  const files = await recordFiles(names.map((n) => join(dir, n)), recordBytes, "CIFAR-10");
  const labels = new Int32Array(files.reduce((n, f) => n + f.count, 0));
  let at = 0;
  for (const f of files) {
    const [l] = await scanRecordBytes(f.path, recordBytes, f.count, [0]);
    checkLabels(l!, 10, f.path);
    labels.set(l!, at);
    at += f.count;
  }
  return new ImageDataset({
    name: `CIFAR-10 (${split})`,
    classes: await classNames(join(dir, "batches.meta.txt"), CIFAR10_CLASSES),
    source: { kind: "files", files, recordBytes, pixelOffset: 1, layout: "chw", shape: [32, 32, 3] },
    labels,
    origin: dir,
  });
}

/** CIFAR-100, binary version: 32×32 colour images, 100 fine classes grouped in 20 coarse ones. */
export async function cifar100(options: Cifar100Options = {}): Promise<ImageDataset> {
  const split = checkSplit(options.split ?? "train", "CIFAR-100");
  const kind = options.labels ?? "fine";
  if (kind !== "fine" && kind !== "coarse") throw new RangeError(`CIFAR-100: labels must be "fine" or "coarse", got "${String(kind)}"`);
  const name = `${split}.bin`;
  const { dir } = await locate(
    {
      name: "cifar100",
      title: `CIFAR-100 (${split})`,
      subdirs: ["cifar-100-binary"],
      probe: async (d) => (existsSync(join(d, name)) ? d : undefined),
      expected: `${name} (the binary version, cifar-100-binary.tar.gz)`,
      downloadable: true,
    },
    options.root,
  );
  const recordBytes = 2 + PIXELS;
  const [file] = await recordFiles([join(dir, name)], recordBytes, "CIFAR-100");
  // Both label bytes are checked: a CIFAR-10 file read as CIFAR-100 fails here, not in training.
  const [coarse, fine] = await scanRecordBytes(file!.path, recordBytes, file!.count, [0, 1]);
  checkLabels(coarse!, 20, file!.path);
  checkLabels(fine!, 100, file!.path);
  const classes =
    kind === "fine"
      ? await classNames(join(dir, "fine_label_names.txt"), CIFAR100_FINE_CLASSES)
      : await classNames(join(dir, "coarse_label_names.txt"), CIFAR100_COARSE_CLASSES);
  return new ImageDataset({
    name: `CIFAR-100 (${split}, ${kind} labels)`,
    classes,
    source: { kind: "files", files: [file!], recordBytes, pixelOffset: 2, layout: "chw", shape: [32, 32, 3] },
    labels: Int32Array.from(kind === "fine" ? fine! : coarse!),
    origin: dir,
  });
}
