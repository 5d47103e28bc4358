/**
 * What `cluelab train` and `cluelab ablate` share: opening a recipe's dataset by name, and the
 * option parsers.
 */
import { InvalidArgumentError } from "commander";
import * as datasets from "../../lib/data/index.js";
import type { ImageDataset } from "../../lib/data/index.js";
import { RECIPES, type Recipe } from "../../lib/train/index.js";

/** Opens split `split` of the recipe's dataset (`root`: its folder, else the usual search). */
export async function openDataset(recipe: Recipe, split: string, root: string | undefined): Promise<ImageDataset> {
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
      return datasets.miniImagenet({ split: split as datasets.MiniImagenetSplit, ...(recipe.imageSize ? { size: recipe.imageSize } : {}), ...r });
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
