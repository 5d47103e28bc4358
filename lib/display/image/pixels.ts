/** Raw pixel arrays → 8-bit interleaved pixels, with the checks that give clear errors. */

/** Pixel values, row-major and channel-interleaved (height × width × channels, as `tf` images). */
export type PixelArray = ArrayLike<number>;

/** Channel layouts: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA. */
export type Channels = 1 | 2 | 3 | 4;

/** How values map to 0–255: `[low, high]` maps linearly (and clamps); `"auto"` decides from the data. */
export type ValueRange = readonly [number, number] | "auto";

/** One raw image. */
export interface RawImage {
  pixels: PixelArray;
  width: number;
  height: number;
  /** Inferred from `pixels.length / (width × height)` when omitted. */
  channels?: Channels;
}

/** A raw image checked and converted to 8-bit values. */
export interface Image8 {
  data: Uint8Array;
  width: number;
  height: number;
  channels: Channels;
}

/** Validates the shape of `image` and returns its channel count. */
export function checkShape(image: RawImage, what: string): Channels {
  const { pixels, width, height } = image;
  for (const [name, v] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${what}: ${name} must be a positive integer, got ${v}`);
  }
  if (pixels === null || typeof pixels !== "object" || typeof pixels.length !== "number") {
    throw new TypeError(`${what}: pixels must be an array or typed array of numbers (e.g. await tensor.data())`);
  }
  const area = width * height;
  const channels = image.channels ?? pixels.length / area;
  if (![1, 2, 3, 4].includes(channels)) {
    throw new RangeError(
      image.channels === undefined
        ? `${what}: ${pixels.length} values do not fit ${width}×${height} pixels with 1–4 channels; pass channels or check width and height`
        : `${what}: channels must be 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA), got ${image.channels}`,
    );
  }
  if (pixels.length !== area * channels) {
    throw new RangeError(
      `${what}: expected ${width}×${height}×${channels} = ${area * channels} values, got ${pixels.length}`,
    );
  }
  return channels as Channels;
}

/**
 * The linear map to 0–255 shared by a set of images. `"auto"`: 8-bit typed arrays are taken as
 * 0–255; other values in [0, 1] are scaled by 255, values in [0, 255] kept; anything else is an
 * error asking for an explicit range (silently squashing it would hide a bug in the data).
 */
export function resolveRange(images: readonly RawImage[], range: ValueRange, what: string): readonly [number, number] {
  if (range !== "auto") {
    const [low, high] = range;
    if (!Number.isFinite(low) || !Number.isFinite(high) || !(high > low)) {
      throw new RangeError(`${what}: range must be [low, high] with finite low < high, got [${low}, ${high}]`);
    }
    return [low, high];
  }
  if (images.every((im) => im.pixels instanceof Uint8Array || im.pixels instanceof Uint8ClampedArray)) return [0, 255];
  let min = Infinity;
  let max = -Infinity;
  for (const [k, im] of images.entries()) {
    const p = im.pixels;
    for (let i = 0; i < p.length; i++) {
      const v = p[i]!;
      if (Number.isNaN(v)) {
        throw new RangeError(`${what}: ${images.length > 1 ? `image ${k} ` : ""}value ${i} is NaN; images cannot show NaN`);
      }
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (min >= 0 && max <= 1) return [0, 1];
  if (min >= 0 && max <= 255) return [0, 255];
  throw new RangeError(
    `${what}: values span [${min}, ${max}], neither [0, 1] nor [0, 255]; pass range: [${min}, ${max}] to map them linearly, or normalize first`,
  );
}

/** Converts to 8-bit with the given range (clamping, rounding) and nearest-neighbour upscaling. */
export function to8bit(image: RawImage, channels: Channels, range: readonly [number, number], scale: number): Image8 {
  const { pixels, width, height } = image;
  const [low, high] = range;
  const factor = 255 / (high - low);
  const identity = low === 0 && high === 255 && (pixels instanceof Uint8Array || pixels instanceof Uint8ClampedArray);
  const w = width * scale;
  const h = height * scale;
  const data = new Uint8Array(w * h * channels);
  for (let y = 0; y < h; y++) {
    const sy = Math.floor(y / scale);
    for (let x = 0; x < w; x++) {
      const src = (sy * width + Math.floor(x / scale)) * channels;
      const dst = (y * w + x) * channels;
      for (let c = 0; c < channels; c++) {
        const v = pixels[src + c]!;
        data[dst + c] = identity ? v : Math.min(255, Math.max(0, Math.round((v - low) * factor)));
      }
    }
  }
  return { data, width: w, height: h, channels };
}

/** Validates an integer upscaling factor. */
export function checkScale(scale: number | undefined, what: string): number {
  const s = scale ?? 1;
  if (!Number.isInteger(s) || s < 1 || s > 64) throw new RangeError(`${what}: scale must be an integer from 1 to 64, got ${scale}`);
  return s;
}
