/**
 * `datasets`: the papers' datasets read from their real on-disk formats, with seeded batch loaders.
 *
 * ```ts
 * import { datasets, transforms } from "cluelab";
 * const train = await datasets.cifar100({ split: "train" });          // found in $CLUELAB_DATA, … or downloaded
 * const loader = train.batches({ batchSize: 128, shuffle: true, seed: 1, augment: transforms.recipes.cifarTrain() });
 * for await (const { x, y, dispose } of loader) { …; dispose(); }
 * ```
 *
 * When `root` is not given, a dataset is looked for in `$CLUELAB_DATA/<name>`, then known system
 * locations (Debian's `/usr/share/datasets/fashion-mnist`), then `$XDG_CACHE_HOME/cluelab/<name>`
 * (`~/.cache/cluelab/<name>`), where `cluelab data download <name>` puts it.
 *
 * @packageDocumentation
 */
export { ImageDataset, type Sample, type SubsetOptions, type SkipReport } from "./dataset.js";
export { BatchLoader, type Batch, type MultiViewBatch, type BatchBase, type BatchOptions } from "./loader.js";
export type { SkippedSample } from "./pipeline/assemble.js";
export type { Fit } from "./pipeline/source.js";
export type { Image, Shape } from "./image.js";
export { DataError, BadImageError } from "./errors.js";
export { fashionMnist, mnist, FASHION_MNIST_CLASSES, MNIST_CLASSES, type IdxSetOptions } from "./sets/idx-sets.js";
export { cifar10, cifar100, CIFAR10_CLASSES, CIFAR100_FINE_CLASSES, CIFAR100_COARSE_CLASSES, type Cifar10Options, type Cifar100Options } from "./sets/cifar.js";
export { stl10, STL10_CLASSES, type Stl10Options } from "./sets/stl10.js";
export { miniImagenet, clueSplit, CLUE_SPLIT, MINI_IMAGENET_NAMES, type MiniImagenetOptions, type MiniImagenetSplit } from "./sets/mini-imagenet.js";
export { imageFolder, IMAGE_EXTENSIONS, type ImageFolderOptions, type ImageLoadOptions } from "./sets/image-folder.js";
export { searchPath, cacheDir, defaultDataDir } from "./locate.js";
export { download, DOWNLOADABLE, MIRROR_ENV, type DownloadOptions, type DownloadResult, type DownloadProgress } from "./download/index.js";
