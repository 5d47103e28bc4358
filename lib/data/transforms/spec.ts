/**
 * Augmentations as plain data. A {@link Transform} wraps a {@link TransformSpec}: a JSON-like
 * description that can be posted to the worker threads that assemble batches, where
 * `applyTransform` (a table from kind to function) runs it with a per-sample seeded generator.
 *
 * @packageDocumentation
 */
import { formatShape, type Image, type Shape } from "../image.js";
import { Rng } from "../random.js";
import { applyTransform } from "./apply.js";

/** Height and width in pixels. */
export type Size2 = readonly [height: number, width: number];

/** Zero-pads by `padding` pixels on every side, then crops `size` at a random position. */
export interface RandomCropSpec {
  kind: "randomCrop";
  size: Size2;
  padding: number;
  /** Value of the padded pixels, in [0, 1]. */
  fill: number;
}
/** Mirrors left–right with probability `p`. */
export interface HorizontalFlipSpec {
  kind: "randomHorizontalFlip";
  p: number;
}
/** `(x − mean[c]) / std[c]` per channel. */
export interface NormalizeSpec {
  kind: "normalize";
  mean: readonly number[];
  std: readonly number[];
}
/** Crops a random area fraction `scale` with aspect ratio in `ratio`, resized to `size` (bilinear). */
export interface RandomResizedCropSpec {
  kind: "randomResizedCrop";
  size: Size2;
  scale: readonly [number, number];
  ratio: readonly [number, number];
}
/** Resizes to `size` (bilinear). */
export interface ResizeSpec {
  kind: "resize";
  size: Size2;
}
/** Crops the centred `size` window. */
export interface CenterCropSpec {
  kind: "centerCrop";
  size: Size2;
}
/** Random brightness, contrast, saturation and hue, applied in a random order (as torchvision does). */
export interface ColorJitterSpec {
  kind: "colorJitter";
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
  /** Probability of jittering at all (SimCLR uses 0.8). */
  p: number;
}
/** Replaces the colour image by its luma (kept as 3 equal channels) with probability `p`. */
export interface RandomGrayscaleSpec {
  kind: "randomGrayscale";
  p: number;
}
/** With probability `p`, erases a random rectangle (area fraction `scale`, aspect `ratio`). */
export interface RandomErasingSpec {
  kind: "randomErasing";
  p: number;
  scale: readonly [number, number];
  ratio: readonly [number, number];
  /** The fill: a value, one per channel, or `"random"` (standard normal noise). */
  value: number | readonly number[] | "random";
}
/** Runs `steps` in order. */
export interface ComposeSpec {
  kind: "compose";
  steps: readonly TransformSpec[];
}
/** Independent views of each image, one per transform (contrastive learning). Top level only. */
export interface ViewsSpec {
  kind: "views";
  views: readonly TransformSpec[];
}

/** Every single-view transform. */
export type TransformSpec =
  | RandomCropSpec
  | HorizontalFlipSpec
  | NormalizeSpec
  | RandomResizedCropSpec
  | ResizeSpec
  | CenterCropSpec
  | ColorJitterSpec
  | RandomGrayscaleSpec
  | RandomErasingSpec
  | ComposeSpec;

/**
 * A composable, seeded augmentation. Build one with the functions of `transforms` (e.g.
 * `transforms.compose([transforms.randomCrop(32, { padding: 4 }), transforms.randomHorizontalFlip()])`)
 * and pass it as `augment` to `dataset.batches(…)`.
 */
export class Transform {
  constructor(readonly spec: TransformSpec) {}

  /** The shape this transform turns an image of `input` shape into; throws when it cannot apply. */
  outputShape(input: Shape): Shape {
    return outputShapeOf(this.spec, input);
  }

  /**
   * Runs the transform on one image (a copy; `image` is not modified) with the generator of
   * `seed`, e.g. to look at what an augmentation does. Batches do this in the loader's workers.
   */
  apply(image: Image, seed = 0): Image {
    const input = { ...image, data: image.data.slice() };
    this.outputShape([image.height, image.width, image.channels]);
    return applyTransform(this.spec, input, new Rng(seed));
  }

  /** This transform followed by `next`. */
  then(next: Transform): Transform {
    const steps = (s: TransformSpec) => (s.kind === "compose" ? s.steps : [s]);
    return new Transform({ kind: "compose", steps: [...steps(this.spec), ...steps(next.spec)] });
  }

  toString(): string {
    return describeSpec(this.spec);
  }
}

/**
 * Several independent views of each image, for contrastive learning: batches carry `views`
 * (one tensor per view) instead of `x`.
 */
export class MultiView {
  readonly spec: ViewsSpec;

  constructor(readonly views: readonly Transform[]) {
    if (views.length < 2) throw new RangeError(`a multi-view transform needs at least 2 views, got ${views.length}`);
    this.spec = { kind: "views", views: views.map((v) => v.spec) };
  }

  /** The shape of each view for an input of `input` shape (all views must agree). */
  outputShape(input: Shape): Shape {
    const shapes = this.views.map((v) => v.outputShape(input));
    if (shapes.some((s) => s.join() !== shapes[0]!.join())) {
      throw new RangeError(`the views produce different shapes (${shapes.map(formatShape).join(", ")}); batches need one`);
    }
    return shapes[0]!;
  }

  toString(): string {
    return `views(${this.views.map(String).join(", ")})`;
  }
}

function outputShapeOf(spec: TransformSpec, input: Shape): Shape {
  const [h, w, c] = input;
  switch (spec.kind) {
    case "randomCrop": {
      const [th, tw] = spec.size;
      if (th > h + 2 * spec.padding || tw > w + 2 * spec.padding) {
        throw new RangeError(`randomCrop ${formatShape(spec.size)} is larger than the padded ${formatShape([h + 2 * spec.padding, w + 2 * spec.padding])} image`);
      }
      return [th, tw, c];
    }
    case "centerCrop": {
      const [th, tw] = spec.size;
      if (th > h || tw > w) throw new RangeError(`centerCrop ${formatShape(spec.size)} is larger than the ${formatShape([h, w])} image`);
      return [th, tw, c];
    }
    case "randomResizedCrop":
    case "resize":
      return [spec.size[0], spec.size[1], c];
    case "normalize":
      if (spec.mean.length !== c || spec.std.length !== c) {
        throw new RangeError(`normalize has ${spec.mean.length} means and ${spec.std.length} stds for a ${c}-channel image`);
      }
      return input;
    case "randomGrayscale":
    case "colorJitter":
      if (c !== 1 && c !== 3) throw new RangeError(`${spec.kind} needs 1 or 3 channels, got ${c}`);
      return input;
    case "randomErasing":
      if (Array.isArray(spec.value) && spec.value.length !== c) {
        throw new RangeError(`randomErasing has ${spec.value.length} fill values for a ${c}-channel image`);
      }
      return input;
    case "randomHorizontalFlip":
      return input;
    case "compose":
      return spec.steps.reduce<Shape>((shape, step) => outputShapeOf(step, shape), input);
  }
}

function describeSpec(spec: TransformSpec): string {
  switch (spec.kind) {
    case "compose":
      return `compose(${spec.steps.map(describeSpec).join(" → ")})`;
    case "normalize":
      return `normalize(mean ${spec.mean.map((m) => m.toFixed(4)).join("/")}, std ${spec.std.map((s) => s.toFixed(4)).join("/")})`;
    default: {
      const { kind, ...rest } = spec;
      const args = Object.entries(rest).map(([k, v]) => `${k} ${Array.isArray(v) ? v.join("×") : String(v)}`);
      return `${kind}(${args.join(", ")})`;
    }
  }
}
