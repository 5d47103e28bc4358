/**
 * `transforms`: composable, seeded augmentations for `dataset.batches({ augment })`.
 *
 * Named and shaped after torchvision's `transforms`, which the papers' official code uses, so a
 * recipe reads the same on both sides: `transforms.Compose([RandomCrop(32, padding=4),
 * RandomHorizontalFlip(), Normalize(mean, std)])` is
 * `transforms.compose([transforms.randomCrop(32, { padding: 4 }), transforms.randomHorizontalFlip(),
 * transforms.normalize(transforms.stats.cifar100)])`. Every random choice comes from a generator
 * seeded by (batches' seed, epoch, sample, view), so a run is reproducible, and the transforms run
 * in the loader's worker threads, off the training thread.
 *
 * @packageDocumentation
 */
import { MultiView, Transform, type Size2, type TransformSpec } from "./spec.js";

export { Transform, MultiView, type TransformSpec, type Size2 } from "./spec.js";

function size2(size: number | Size2, what: string): Size2 {
  const s: Size2 = typeof size === "number" ? [size, size] : size;
  if (!s.every((v) => Number.isInteger(v) && v > 0)) throw new RangeError(`${what}: size must be positive integers, got ${String(size)}`);
  return s;
}

function probability(p: number, what: string): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${what}: p must be in [0, 1], got ${p}`);
  return p;
}

function range(r: readonly [number, number], what: string): [number, number] {
  if (!(r[0] > 0 && r[0] <= r[1])) throw new RangeError(`${what} must satisfy 0 < lo ≤ hi, got [${r.join(", ")}]`);
  return [r[0], r[1]];
}

/** Runs the transforms in order. */
export function compose(steps: readonly Transform[]): Transform {
  const flat: TransformSpec[] = steps.flatMap((t) => (t.spec.kind === "compose" ? t.spec.steps : [t.spec]));
  return new Transform({ kind: "compose", steps: flat });
}

/** Zero-pads `padding` pixels on each side (with `fill`), then crops `size` at a random position. */
export function randomCrop(size: number | Size2, options: { padding?: number; fill?: number } = {}): Transform {
  const padding = options.padding ?? 0;
  if (!Number.isInteger(padding) || padding < 0) throw new RangeError(`randomCrop: padding must be a non-negative integer, got ${padding}`);
  return new Transform({ kind: "randomCrop", size: size2(size, "randomCrop"), padding, fill: options.fill ?? 0 });
}

/** Mirrors left–right with probability `p` (default 0.5). */
export function randomHorizontalFlip(p = 0.5): Transform {
  return new Transform({ kind: "randomHorizontalFlip", p: probability(p, "randomHorizontalFlip") });
}

/** Per-channel `(x − mean) / std`; pass one of {@link stats} or your own. */
export function normalize(options: { mean: readonly number[]; std: readonly number[] }): Transform {
  if (options.mean.length !== options.std.length || options.std.some((s) => !(s > 0))) {
    throw new RangeError(`normalize: mean and std need one value per channel and std > 0`);
  }
  return new Transform({ kind: "normalize", mean: [...options.mean], std: [...options.std] });
}

/** A random crop of area fraction `scale` and aspect ratio `ratio`, resized to `size` (torchvision defaults). */
export function randomResizedCrop(
  size: number | Size2,
  options: { scale?: readonly [number, number]; ratio?: readonly [number, number] } = {},
): Transform {
  return new Transform({
    kind: "randomResizedCrop",
    size: size2(size, "randomResizedCrop"),
    scale: range(options.scale ?? [0.08, 1], "randomResizedCrop: scale"),
    ratio: range(options.ratio ?? [3 / 4, 4 / 3], "randomResizedCrop: ratio"),
  });
}

/** Resizes to `size` (bilinear). */
export function resize(size: number | Size2): Transform {
  return new Transform({ kind: "resize", size: size2(size, "resize") });
}

/** Crops the centred `size` window. */
export function centerCrop(size: number | Size2): Transform {
  return new Transform({ kind: "centerCrop", size: size2(size, "centerCrop") });
}

/** Random brightness/contrast/saturation (factor in [1 − a, 1 + a]) and hue (shift in [−h, h], h ≤ 0.5). */
export function colorJitter(options: { brightness?: number; contrast?: number; saturation?: number; hue?: number; p?: number }): Transform {
  const spec = {
    kind: "colorJitter" as const,
    brightness: options.brightness ?? 0,
    contrast: options.contrast ?? 0,
    saturation: options.saturation ?? 0,
    hue: options.hue ?? 0,
    p: probability(options.p ?? 1, "colorJitter"),
  };
  if ([spec.brightness, spec.contrast, spec.saturation].some((v) => !(v >= 0)) || !(spec.hue >= 0 && spec.hue <= 0.5)) {
    throw new RangeError("colorJitter: brightness, contrast and saturation must be ≥ 0 and hue in [0, 0.5]");
  }
  return new Transform(spec);
}

/** Converts to grey (3 equal channels) with probability `p` (default 0.1, as torchvision). */
export function randomGrayscale(p = 0.1): Transform {
  return new Transform({ kind: "randomGrayscale", p: probability(p, "randomGrayscale") });
}

/** With probability `p`, erases a random rectangle (torchvision `RandomErasing` defaults). */
export function randomErasing(
  options: { p?: number; scale?: readonly [number, number]; ratio?: readonly [number, number]; value?: number | readonly number[] | "random" } = {},
): Transform {
  return new Transform({
    kind: "randomErasing",
    p: probability(options.p ?? 0.5, "randomErasing"),
    scale: range(options.scale ?? [0.02, 0.33], "randomErasing: scale"),
    ratio: range(options.ratio ?? [0.3, 3.3], "randomErasing: ratio"),
    value: options.value ?? 0,
  });
}

/**
 * Two independent views of every image, for contrastive learning (SimCLR-style): with one
 * transform both views are drawn from it independently; with two, each view has its own.
 * Batches then carry `views: [x1, x2]`.
 */
export function twoViews(first: Transform, second: Transform = first): MultiView {
  return new MultiView([first, second]);
}

/** Several independent views (see {@link twoViews}). */
export function views(list: readonly Transform[]): MultiView {
  return new MultiView(list);
}

/**
 * Per-channel mean and standard deviation of the training sets, in [0, 1] pixel units.
 * `cifar100` and `imagenet` are the values the CLUENet code uses; `fashionMnist` is checked
 * against Debian's copy of the data by the tests.
 */
export const stats = {
  /** CLUENet's CIFAR-100 recipe (train split statistics). */
  cifar100: { mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762] },
  /** CIFAR-10 train split statistics. */
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
  /** ImageNet's, used for Mini-ImageNet by the CLUENet code. */
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  /** STL-10 train split statistics. */
  stl10: { mean: [0.4467, 0.4398, 0.4066], std: [0.2603, 0.2566, 0.2713] },
  /** Fashion-MNIST train split statistics. */
  fashionMnist: { mean: [0.286], std: [0.353] },
  /** MNIST train split statistics. */
  mnist: { mean: [0.1307], std: [0.3081] },
} as const satisfies Record<string, { mean: readonly number[]; std: readonly number[] }>;

/** The papers' augmentation recipes, ready to pass as `augment`. */
export const recipes = {
  /** CLUENet on CIFAR-100 (and CIFAR-10 with its stats): random crop 32 with padding 4, flip, normalise. */
  cifarTrain(stat: { mean: readonly number[]; std: readonly number[] } = stats.cifar100): Transform {
    return compose([randomCrop(32, { padding: 4 }), randomHorizontalFlip(), normalize(stat)]);
  },
  /** Evaluation counterpart of {@link recipes.cifarTrain}: normalise only. */
  cifarEval(stat: { mean: readonly number[]; std: readonly number[] } = stats.cifar100): Transform {
    return normalize(stat);
  },
  /**
   * CLUENet on Mini-ImageNet: random resized crop, flip, colour jitter (0.2, 0.2, 0.2, 0.05),
   * random erasing (p 0.1, scale 0.02–0.2), ImageNet normalisation.
   */
  miniImagenetTrain(size = 224): Transform {
    return compose([
      randomResizedCrop(size),
      randomHorizontalFlip(),
      colorJitter({ brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.05 }),
      randomErasing({ p: 0.1, scale: [0.02, 0.2], ratio: [0.3, 3.3] }),
      normalize(stats.imagenet),
    ]);
  },
  /** Evaluation counterpart: ImageNet normalisation (load the dataset at the model's size). */
  miniImagenetEval(): Transform {
    return normalize(stats.imagenet);
  },
  /** Fashion-MNIST: random crop 28 with padding 2, flip, normalise. */
  fashionMnistTrain(): Transform {
    return compose([randomCrop(28, { padding: 2 }), randomHorizontalFlip(), normalize(stats.fashionMnist)]);
  },
  /** MNIST: random crop 28 with padding 2 and normalise; no flip (a mirrored digit is another symbol). */
  mnistTrain(): Transform {
    return compose([randomCrop(28, { padding: 2 }), normalize(stats.mnist)]);
  },
  /**
   * SimCLR's two views (Chen et al. 2020): random resized crop, flip, colour jitter
   * (0.4, 0.4, 0.4, 0.1 with p 0.8), greyscale p 0.2; normalised with `stat` when given.
   */
  simclr(size: number, stat?: { mean: readonly number[]; std: readonly number[] }): MultiView {
    const steps = [
      randomResizedCrop(size),
      randomHorizontalFlip(),
      colorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 0.8 }),
      randomGrayscale(0.2),
    ];
    if (stat) steps.push(normalize(stat));
    return twoViews(compose(steps));
  },
};
