/**
 * Geometric augmentations on HWC float images: crops (with padding), flips, resized crops. The
 * random parameters follow torchvision's definitions so the papers' recipes mean the same here.
 *
 * @packageDocumentation
 */
import type { Image } from "../image.js";
import type { Rng } from "../random.js";
import type { CenterCropSpec, HorizontalFlipSpec, RandomCropSpec, RandomResizedCropSpec, ResizeSpec } from "./spec.js";

/** Copies the window (top, left, height, width) of `src` (rows/cols outside it read `fill`). */
function window(src: Image, top: number, left: number, height: number, width: number, fill: number): Image {
  const c = src.channels;
  const data = new Float32Array(height * width * c);
  if (fill !== 0) data.fill(fill);
  const y0 = Math.max(0, -top);
  const y1 = Math.min(height, src.height - top);
  const x0 = Math.max(0, -left);
  const x1 = Math.min(width, src.width - left);
  for (let y = y0; y < y1; y++) {
    const from = ((top + y) * src.width + left + x0) * c;
    data.set(src.data.subarray(from, from + (x1 - x0) * c), (y * width + x0) * c);
  }
  return { data, height, width, channels: c };
}

/** torchvision `RandomCrop(size, padding, fill)`: pad every side, then crop at a uniform offset. */
export function randomCrop(spec: RandomCropSpec, img: Image, rng: Rng): Image {
  const [th, tw] = spec.size;
  const p = spec.padding;
  const top = rng.int(img.height + 2 * p - th + 1) - p;
  const left = rng.int(img.width + 2 * p - tw + 1) - p;
  return window(img, top, left, th, tw, spec.fill);
}

/** torchvision `CenterCrop(size)`. */
export function centerCrop(spec: CenterCropSpec, img: Image): Image {
  const [th, tw] = spec.size;
  // torchvision rounds the offsets: int(round((h - th) / 2)).
  return window(img, Math.round((img.height - th) / 2), Math.round((img.width - tw) / 2), th, tw, 0);
}

/** torchvision `RandomHorizontalFlip(p)`; flips in place. */
export function randomHorizontalFlip(spec: HorizontalFlipSpec, img: Image, rng: Rng): Image {
  if (!rng.chance(spec.p)) return img;
  const { data, height, width, channels: c } = img;
  for (let y = 0; y < height; y++) {
    const row = y * width * c;
    for (let x = 0; x < width >> 1; x++) {
      const a = row + x * c;
      const b = row + (width - 1 - x) * c;
      for (let k = 0; k < c; k++) {
        const t = data[a + k]!;
        data[a + k] = data[b + k]!;
        data[b + k] = t;
      }
    }
  }
  return img;
}

/**
 * Bilinear resampling of the box (top, left, height, width) of `src` to `outH × outW`, with
 * half-pixel centres (as `align_corners=False`); samples outside the image clamp to its edge.
 */
export function resampleBox(src: Image, top: number, left: number, height: number, width: number, outH: number, outW: number): Image {
  const c = src.channels;
  const out = new Float32Array(outH * outW * c);
  const sy = height / outH;
  const sx = width / outW;
  const x0s = new Int32Array(outW);
  const x1s = new Int32Array(outW);
  const fxs = new Float32Array(outW);
  for (let x = 0; x < outW; x++) {
    const fx = Math.min(Math.max(left + (x + 0.5) * sx - 0.5, 0), src.width - 1);
    x0s[x] = Math.floor(fx);
    x1s[x] = Math.min(x0s[x]! + 1, src.width - 1);
    fxs[x] = fx - x0s[x]!;
  }
  const d = src.data;
  for (let y = 0; y < outH; y++) {
    const fy = Math.min(Math.max(top + (y + 0.5) * sy - 0.5, 0), src.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, src.height - 1);
    const wy = fy - y0;
    const r0 = y0 * src.width;
    const r1 = y1 * src.width;
    for (let x = 0; x < outW; x++) {
      const wx = fxs[x]!;
      const a = (r0 + x0s[x]!) * c;
      const b = (r0 + x1s[x]!) * c;
      const e = (r1 + x0s[x]!) * c;
      const f = (r1 + x1s[x]!) * c;
      const o = (y * outW + x) * c;
      for (let k = 0; k < c; k++) {
        const top0 = d[a + k]! + (d[b + k]! - d[a + k]!) * wx;
        const bot0 = d[e + k]! + (d[f + k]! - d[e + k]!) * wx;
        out[o + k] = top0 + (bot0 - top0) * wy;
      }
    }
  }
  return { data: out, height: outH, width: outW, channels: c };
}

/** torchvision `Resize((h, w))` (bilinear). */
export function resize(spec: ResizeSpec, img: Image): Image {
  const [h, w] = spec.size;
  if (h === img.height && w === img.width) return img;
  return resampleBox(img, 0, 0, img.height, img.width, h, w);
}

/** torchvision `RandomResizedCrop.get_params`: 10 tries at a random area and ratio, else a centred crop. */
export function resizedCropBox(height: number, width: number, spec: RandomResizedCropSpec, rng: Rng): [number, number, number, number] {
  const area = height * width;
  const logLo = Math.log(spec.ratio[0]);
  const logHi = Math.log(spec.ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(spec.scale[0], spec.scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return [rng.int(height - h + 1), rng.int(width - w + 1), h, w];
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < spec.ratio[0]) h = Math.round(w / spec.ratio[0]);
  else if (inRatio > spec.ratio[1]) w = Math.round(h * spec.ratio[1]);
  return [Math.floor((height - h) / 2), Math.floor((width - w) / 2), h, w];
}

/** torchvision `RandomResizedCrop(size, scale, ratio)` with bilinear resampling. */
export function randomResizedCrop(spec: RandomResizedCropSpec, img: Image, rng: Rng): Image {
  const [top, left, h, w] = resizedCropBox(img.height, img.width, spec, rng);
  return resampleBox(img, top, left, h, w, spec.size[0], spec.size[1]);
}
