/**
 * What `cluelab train` and `cluelab ablate` share: opening a recipe's dataset by name, and the
 * option parsers.
 */
import { InvalidArgumentError, type Command } from "commander";
import type { ImageDataset, MiniImagenetSplit } from "../../lib/data/index.js";
// The recipes module, not the training index: `cluelab --help` (and the kernel's start) must not load TensorFlow.js.
import { RECIPES, type Recipe } from "../../lib/train/recipes.js";

/** Opens split `split` of the recipe's dataset (`root`: its folder, else the usual search). */
export async function openDataset(recipe: Recipe, split: string, root: string | undefined): Promise<ImageDataset> {
  const datasets = await import("../../lib/data/index.js");
  const r = root === undefined ? {} : { root };
  switch (recipe.name) {
    case "fashion-mnist":
      return datasets.fashionMnist({ split: split as "train" | "test", ...r });
    case "mnist":
      return datasets.mnist({ split: split as "train" | "test", ...r });
    case "cifar10":
      return datasets.cifar10({ split: split as "train" | "test", ...r });
    case "cifar100":
      return datasets.cifar100({ split: split as "train" | "test", labels: "fine", ...r });
    case "mini-imagenet":
      return datasets.miniImagenet({ split: split as MiniImagenetSplit, ...(recipe.imageSize ? { size: recipe.imageSize } : {}), ...r });
  }
}

export function parseData(value: string): Recipe {
  const known = Object.keys(RECIPES);
  const key = known.find((k) => k === value || k.replace(/-/g, "") === value.toLowerCase().replace(/[-_ ]/g, ""));
  if (!key) throw new InvalidArgumentError(`unknown data "${value}"; expected one of ${known.join(", ")}`);
  return RECIPES[key as keyof typeof RECIPES];
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected an integer ≥ 0, got "${value}"`);
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}

export function fraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError(`expected a number in [0, 1), got "${value}"`);
  return n;
}

/** `key=value` model overrides; values are JSON when they parse as JSON (`gate=false`, `clusters=2`, `pool="fec"` or `pool=fec`). */
export function collectOverride(value: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value (e.g. gate=false, clusters=2, pool=fec), got "${value}"`);
  const key = value.slice(0, eq);
  const raw = value.slice(eq + 1);
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // a bare word is a string
  }
  return { ...previous, [key]: parsed };
}

export function seedList(value: string): number[] {
  const seeds = value.split(",").map((s) => Number(s.trim()));
  if (seeds.length === 0 || !seeds.every((s) => Number.isSafeInteger(s))) throw new InvalidArgumentError(`expected integers separated by commas (e.g. 0,1,2), got "${value}"`);
  return seeds;
}

/** The options `train` and `ablate` share: data and model, budget, subsets, data folder, overrides, loader threads. */
export function addRunOptions(command: Command, per: "run" | "row"): Command {
  return command
    .option("--data <name>", `dataset and its recipe: ${Object.keys(RECIPES).join(", ")}`, parseData)
    .option("--config <name>", "model configuration (cluenet registry name; default: the recipe's model)")
    .option("--epochs <n>", "epochs in total, warmup included (default: the recipe's)", positiveInt)
    .option("--batch <n>", "batch size (default: the recipe's)", positiveInt)
    .option("--lr <x>", "base learning rate (default: the recipe's)", positiveNumber)
    .option("--max-steps <n>", "stop after this many steps in total (a budget)", positiveInt)
    .option("--train-subset <n>", "train on a seeded, class-stratified subset of n images", positiveInt)
    .option("--eval-subset <n>", "evaluate on a seeded, class-stratified subset of n images", positiveInt)
    .option("--data-root <dir>", "the dataset's folder (default: $CLUELAB_DATA, system locations, the cache)")
    .option(
      "--set <key=value>",
      `model override${per === "row" ? " for every row" : ""}, repeatable (e.g. --set gate=false --set pool=fec --set dims=[8,16,32,64])`,
      collectOverride,
    )
    .option("--workers <n>", "data loader threads", nonNegativeInt, 1);
}
