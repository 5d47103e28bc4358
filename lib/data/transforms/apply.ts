/**
 * Runs a {@link TransformSpec} on an image: one table from kind to implementation, used alike by
 * worker threads and the main thread.
 *
 * @packageDocumentation
 */
import type { Image } from "../image.js";
import type { Rng } from "../random.js";
import { colorJitter, normalize, randomErasing, randomGrayscale } from "./color.js";
import { centerCrop, randomCrop, randomHorizontalFlip, randomResizedCrop, resize } from "./geometry.js";
import type { TransformSpec } from "./spec.js";

type Impl<K extends TransformSpec["kind"]> = (spec: Extract<TransformSpec, { kind: K }>, img: Image, rng: Rng) => Image;

const IMPLEMENTATIONS: { [K in TransformSpec["kind"]]: Impl<K> } = {
  randomCrop,
  centerCrop: (spec, img) => centerCrop(spec, img),
  randomHorizontalFlip,
  randomResizedCrop,
  resize: (spec, img) => resize(spec, img),
  normalize: (spec, img) => normalize(spec, img),
  colorJitter,
  randomGrayscale,
  randomErasing,
  compose: (spec, img, rng) => spec.steps.reduce((out, step) => applyTransform(step, out, rng), img),
};

/**
 * Applies `spec` to `img` drawing every random choice from `rng`. May modify `img` in place and
 * may return a new image; use the return value.
 */
export function applyTransform(spec: TransformSpec, img: Image, rng: Rng): Image {
  const impl = IMPLEMENTATIONS[spec.kind] as Impl<typeof spec.kind>;
  if (!impl) throw new TypeError(`unknown transform kind "${(spec as { kind: string }).kind}"`);
  return impl(spec as never, img, rng);
}
