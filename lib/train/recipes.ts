/**
 * The papers' training recipes as presets (model, data, optimizer, schedule, augmentation), and
 * a small CPU recipe for Fashion-MNIST. Sources: CLUENet's official scripts
 * (`test_on_miniDataset/CIFAR100/train_on_CIFAR100.py`, `mini_imagenet/train_single_gpu.py`)
 * and README.
 */
import * as transforms from "../data/transforms/index.js";
import type { Transform } from "../data/transforms/index.js";

/** Dataset names the recipes (and `cluelab train --data`) know. */
export type RecipeData = "cifar100" | "cifar10" | "mini-imagenet" | "fashion-mnist" | "mnist";

/** One preset. Everything is plain data except the augmentation builders. */
export interface Recipe {
  name: RecipeData;
  summary: string;
  /** Where the numbers come from. */
  source: string;
  /** The model registry name trained by default. */
  model: string;
  /** Images per batch. */
  batchSize: number;
  /** Epochs in total, warmup included (the official scripts add the 5 warmup epochs to 100). */
  epochs: number;
  warmupEpochs: number;
  lr: number;
  weightDecay: number;
  minLr: number;
  warmupLr: number;
  /** When the rate changes: once per epoch (the official scripts) or every step. */
  granularity: "epoch" | "step";
  labelSmoothing: number;
  clipGradNorm: number | null;
  /** Splits to train on and to evaluate on. */
  trainSplit: string;
  evalSplit: string;
  /** Decode size for image-folder sets (Mini-ImageNet). */
  imageSize?: number;
  /** Training augmentation and evaluation preprocessing. */
  trainAugment(): Transform;
  evalAugment(): Transform | null;
}

/** What every CLUENet recipe shares: AdamW's decoupled decay 0.05, warmup from 1e-6, cosine to 1e-5, plain cross-entropy, no clipping. */
const PAPER = { weightDecay: 0.05, minLr: 1e-5, warmupLr: 1e-6, labelSmoothing: 0, clipGradNorm: null } as const;

const cifar = (name: "cifar100" | "cifar10", model: string): Recipe => ({
  name,
  summary: `${name === "cifar100" ? "CIFAR-100" : "CIFAR-10"}: AdamW lr 1.5e-2 wd 0.05, batch 256, 100 + 5 warmup epochs, cosine to 1e-5, random crop (pad 4) + flip`,
  source: "CLUENet train_on_CIFAR100.py (defaults) and README's learning-rate table",
  model,
  batchSize: 256,
  epochs: 105,
  warmupEpochs: 5,
  lr: 1.5e-2,
  granularity: "epoch",
  ...PAPER,
  trainSplit: "train",
  evalSplit: "test",
  trainAugment: () => transforms.recipes.cifarTrain(name === "cifar100" ? transforms.stats.cifar100 : transforms.stats.cifar10),
  evalAugment: () => transforms.recipes.cifarEval(name === "cifar100" ? transforms.stats.cifar100 : transforms.stats.cifar10),
});

const grey = (name: "fashion-mnist" | "mnist"): Recipe => ({
  name,
  summary: `${name === "mnist" ? "MNIST" : "Fashion-MNIST"} on a CPU: CLUE_nano_FMNIST, AdamW lr 2e-3 wd 0.05, batch 64, 10 epochs (1 warmup), cosine per step to 1e-5, random crop (pad 2)${name === "mnist" ? "" : " + flip"}`,
  source: "cluelab's own (not in the paper): the paper's optimizer and schedule scaled to a 0.4 M-parameter model",
  model: "CLUE_nano_FMNIST",
  batchSize: 64,
  epochs: 10,
  warmupEpochs: 1,
  lr: 2e-3,
  granularity: "step",
  ...PAPER,
  trainSplit: "train",
  evalSplit: "test",
  trainAugment: () => (name === "mnist" ? transforms.recipes.mnistTrain() : transforms.recipes.fashionMnistTrain()),
  evalAugment: () => transforms.normalize(name === "mnist" ? transforms.stats.mnist : transforms.stats.fashionMnist),
});

/** The presets by dataset name. */
export const RECIPES: Readonly<Record<RecipeData, Recipe>> = {
  cifar100: cifar("cifar100", "CLUE_mini_CIFAR"),
  cifar10: cifar("cifar10", "CLUE_mini_CIFAR"),
  "mini-imagenet": {
    name: "mini-imagenet",
    summary:
      "Mini-ImageNet (CLUENet's 48k/12k re-split, 224 px): AdamW lr 2e-3 wd 0.05, batch 128, 100 + 5 warmup epochs, cosine to 1e-5; " +
      "random resized crop, flip, colour jitter, random erasing; evaluation at 256 px centre-cropped to 224",
    source: "CLUENet mini_imagenet/train_single_gpu.py and README (lr 2e-3, batch 128)",
    model: "CLUE_mini",
    batchSize: 128,
    epochs: 105,
    warmupEpochs: 5,
    lr: 2e-3,
    granularity: "epoch",
    ...PAPER,
    trainSplit: "clue-train",
    evalSplit: "clue-val",
    imageSize: 256,
    trainAugment: () => transforms.recipes.miniImagenetTrain(224),
    evalAugment: () => transforms.compose([transforms.centerCrop(224), transforms.recipes.miniImagenetEval()]),
  },
  "fashion-mnist": grey("fashion-mnist"),
  mnist: grey("mnist"),
};

/** The preset for `data`, or an error listing the known ones. */
export function recipe(data: string): Recipe {
  const r = (RECIPES as Record<string, Recipe>)[data];
  if (!r) throw new Error(`no training recipe for data "${data}"; known: ${Object.keys(RECIPES).join(", ")}`);
  return r;
}
