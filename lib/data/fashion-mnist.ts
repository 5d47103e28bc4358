import { existsSync } from "node:fs";
import { join } from "node:path";
import { readIdx } from "./idx.js";

/** Fashion-MNIST's class names, in label order. */
export const FASHION_MNIST_CLASSES = [
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
] as const;

/** Folders searched for Fashion-MNIST's IDX files, in order. */
export function fashionMnistSearchPath(): string[] {
  const dirs: string[] = [];
  if (process.env.CLUELAB_DATA) dirs.push(join(process.env.CLUELAB_DATA, "fashion-mnist"));
  dirs.push("/usr/share/datasets/fashion-mnist"); // Debian's dataset-fashion-mnist
  return dirs;
}

/** One split of Fashion-MNIST as raw arrays: 28×28 grey images (bytes) and labels. */
export interface FashionMnistArrays {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  dir: string;
}

/** Loads a split of Fashion-MNIST from the first folder of the search path that holds it. */
export async function loadFashionMnistArrays(split: "train" | "test"): Promise<FashionMnistArrays> {
  const prefix = split === "train" ? "train" : "t10k";
  const names = [`${prefix}-images-idx3-ubyte`, `${prefix}-labels-idx1-ubyte`];
  const pick = (dir: string, name: string) => [join(dir, `${name}.gz`), join(dir, name)].find((f) => existsSync(f));
  for (const dir of fashionMnistSearchPath()) {
    const [imagesFile, labelsFile] = names.map((n) => pick(dir, n));
    if (!imagesFile || !labelsFile) continue;
    const images = await readIdx(imagesFile);
    const labels = await readIdx(labelsFile);
    if (images.dims.length !== 3 || images.dims[1] !== 28 || images.dims[2] !== 28) {
      throw new Error(`${imagesFile}: expected N×28×28 images, found ${images.dims.join("×")}`);
    }
    if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
      throw new Error(`${labelsFile}: expected ${images.dims[0]} labels to match the images, found ${labels.dims.join("×")}`);
    }
    const bad = labels.data.findIndex((l) => l > 9);
    if (bad >= 0) throw new Error(`${labelsFile}: label ${labels.data[bad]} at index ${bad} is out of range 0–9`);
    return { images: images.data, labels: labels.data, count: images.dims[0]!, dir };
  }
  throw new Error(
    `Fashion-MNIST (${split}) was not found in ${fashionMnistSearchPath().join(", ")}. ` +
      `On Debian: \`apt-get install dataset-fashion-mnist\` (or run \`bash scripts/setup-system.sh\` as root); ` +
      `elsewhere put the four IDX files in $CLUELAB_DATA/fashion-mnist.`,
  );
}
