/**
 * Photometric augmentations on HWC float images in [0, 1], following torchvision's tensor
 * definitions (luma weights 0.2989/0.587/0.114, blends clamped to [0, 1]).
 *
 * @packageDocumentation
 */
import type { Image } from "../image.js";
import type { Rng } from "../random.js";
import type { ColorJitterSpec, NormalizeSpec, RandomErasingSpec, RandomGrayscaleSpec } from "./spec.js";

const LUMA = [0.2989, 0.587, 0.114] as const;

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** `(x − mean[c]) / std[c]`, in place. */
export function normalize(spec: NormalizeSpec, img: Image): Image {
  const { data, channels: c } = img;
  const mean = Float32Array.from(spec.mean);
  const inv = Float32Array.from(spec.std, (s) => 1 / s);
  for (let i = 0; i < data.length; i += c) {
    for (let k = 0; k < c; k++) data[i + k] = (data[i + k]! - mean[k]!) * inv[k]!;
  }
  return img;
}

function luma(d: Float32Array, i: number): number {
  return LUMA[0] * d[i]! + LUMA[1] * d[i + 1]! + LUMA[2] * d[i + 2]!;
}

function brightness(img: Image, factor: number): void {
  const d = img.data;
  for (let i = 0; i < d.length; i++) d[i] = clamp01(d[i]! * factor);
}

function contrast(img: Image, factor: number): void {
  const d = img.data;
  const c = img.channels;
  let sum = 0;
  for (let i = 0; i < d.length; i += c) sum += c === 3 ? luma(d, i) : d[i]!;
  const mean = sum / (d.length / c);
  const offset = (1 - factor) * mean;
  for (let i = 0; i < d.length; i++) d[i] = clamp01(factor * d[i]! + offset);
}

function saturation(img: Image, factor: number): void {
  if (img.channels !== 3) return; // a grey image has no saturation to change
  const d = img.data;
  for (let i = 0; i < d.length; i += 3) {
    const g = (1 - factor) * luma(d, i);
    d[i] = clamp01(factor * d[i]! + g);
    d[i + 1] = clamp01(factor * d[i + 1]! + g);
    d[i + 2] = clamp01(factor * d[i + 2]! + g);
  }
}

/** Rotates hue by `shift` turns through HSV (torchvision's `_rgb2hsv` / `_hsv2rgb`). */
function hue(img: Image, shift: number): void {
  if (img.channels !== 3) return;
  const d = img.data;
  for (let i = 0; i < d.length; i += 3) {
    const r = d[i]!;
    const g = d[i + 1]!;
    const b = d[i + 2]!;
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    const delta = max - min;
    let h = 0;
    if (delta > 0) {
      if (max === r) h = ((g - b) / delta) % 6;
      else if (max === g) h = (b - r) / delta + 2;
      else h = (r - g) / delta + 4;
      h /= 6;
    }
    h = (((h + shift) % 1) + 1) % 1;
    const s = max === 0 ? 0 : delta / max;
    const v = max;
    const h6 = h * 6;
    const sector = Math.floor(h6) % 6;
    const f = h6 - Math.floor(h6);
    const p = v * (1 - s);
    const q = v * (1 - s * f);
    const t = v * (1 - s * (1 - f));
    const rgb =
      sector === 0 ? [v, t, p] : sector === 1 ? [q, v, p] : sector === 2 ? [p, v, t] : sector === 3 ? [p, q, v] : sector === 4 ? [t, p, v] : [v, p, q];
    d[i] = clamp01(rgb[0]!);
    d[i + 1] = clamp01(rgb[1]!);
    d[i + 2] = clamp01(rgb[2]!);
  }
}

/**
 * torchvision `ColorJitter`: factors drawn uniformly from [max(0, 1 − b), 1 + b] (hue from
 * [−h, h]), the four adjustments applied in a random order; in place.
 */
export function colorJitter(spec: ColorJitterSpec, img: Image, rng: Rng): Image {
  if (!rng.chance(spec.p)) return img;
  const order = [0, 1, 2, 3];
  for (let i = 3; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const factor = (amount: number) => (amount > 0 ? rng.uniform(Math.max(0, 1 - amount), 1 + amount) : 1);
  const b = factor(spec.brightness);
  const c = factor(spec.contrast);
  const s = factor(spec.saturation);
  const h = spec.hue > 0 ? rng.uniform(-spec.hue, spec.hue) : 0;
  for (const op of order) {
    if (op === 0 && spec.brightness > 0) brightness(img, b);
    else if (op === 1 && spec.contrast > 0) contrast(img, c);
    else if (op === 2 && spec.saturation > 0) saturation(img, s);
    else if (op === 3 && spec.hue > 0) hue(img, h);
  }
  return img;
}

/** torchvision `RandomGrayscale(p)` for 3-channel images (the output keeps 3 channels); in place. */
export function randomGrayscale(spec: RandomGrayscaleSpec, img: Image, rng: Rng): Image {
  if (!rng.chance(spec.p) || img.channels !== 3) return img;
  const d = img.data;
  for (let i = 0; i < d.length; i += 3) d[i] = d[i + 1] = d[i + 2] = luma(d, i);
  return img;
}

/** A standard normal draw (Box–Muller). */
function gaussian(rng: Rng): number {
  const u = 1 - rng.float();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.float());
}

/** torchvision `RandomErasing(p, scale, ratio, value)`: up to 10 tries to fit a rectangle; in place. */
export function randomErasing(spec: RandomErasingSpec, img: Image, rng: Rng): Image {
  if (!rng.chance(spec.p)) return img;
  const { height: H, width: W, channels: C, data } = img;
  const area = H * W;
  const logLo = Math.log(spec.ratio[0]);
  const logHi = Math.log(spec.ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(spec.scale[0], spec.scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const h = Math.round(Math.sqrt(target * aspect));
    const w = Math.round(Math.sqrt(target / aspect));
    if (!(h < H && w < W)) continue;
    const top = rng.int(H - h + 1);
    const left = rng.int(W - w + 1);
    for (let y = top; y < top + h; y++) {
      for (let x = left; x < left + w; x++) {
        const o = (y * W + x) * C;
        for (let k = 0; k < C; k++) {
          const v = spec.value;
          data[o + k] = v === "random" ? gaussian(rng) : typeof v === "number" ? v : v[k]!;
        }
      }
    }
    return img;
  }
  return img;
}
