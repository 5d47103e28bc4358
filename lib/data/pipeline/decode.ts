/**
 * Decoding and resizing encoded images (JPEG, PNG, WebP, …) with sharp (libvips). sharp runs each
 * call on libuv's thread pool, so the JavaScript thread only waits; `sharp.concurrency(1)` keeps
 * one image to one core, leaving the other cores of a small machine to training.
 *
 * @packageDocumentation
 */
import sharp, { type OutputInfo } from "sharp";
import { BadImageError } from "../errors.js";
import { formatShape, type Shape } from "../image.js";
import type { ImageFilesSource, SampleReader } from "./source.js";

// One libvips thread per image and no operation cache: images are decoded once per epoch, and the
// cache would only hold memory.
sharp.concurrency(1);
sharp.cache(false);

/** Decodes `path` to `shape` (HWC bytes), resizing with `fit` when the size differs. */
export async function decodeImage(path: string, shape: Shape, fit: ImageFilesSource["fit"]): Promise<Uint8Array> {
  const [height, width, channels] = shape;
  let result: { data: Buffer; info: OutputInfo };
  try {
    let pipeline = sharp(path, { failOn: "truncated" }) // lenient on warnings, as PIL is; strict on truncation
      .rotate() // honour EXIF orientation, as viewers (and PIL's exif_transpose users) do
      .resize(width, height, { fit, kernel: "lanczos3", background: { r: 0, g: 0, b: 0 } })
      .removeAlpha();
    pipeline = channels === 1 ? pipeline.grayscale().toColourspace("b-w") : pipeline.toColourspace("srgb");
    result = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const why = e.code === "ENOENT" || /missing|no such file/i.test(e.message) ? "file not found" : e.message.trim().replace(/\s*\n\s*/g, "; ");
    throw new BadImageError(`cannot decode image (${why}); expected a readable JPEG, PNG or WebP file`, path);
  }
  const { info, data } = result;
  if (info.width !== width || info.height !== height || info.channels !== channels) {
    throw new BadImageError(
      `decoded to ${formatShape([info.height, info.width, info.channels])}, expected ${formatShape(shape)}`,
      path,
    );
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Reads the pixel size of an image without decoding it. */
export async function imageSize(path: string): Promise<{ height: number; width: number; channels: number }> {
  try {
    const meta = await sharp(path).metadata();
    if (!meta.width || !meta.height) throw new Error("no dimensions in the header");
    return { height: meta.height, width: meta.width, channels: meta.channels ?? 3 };
  } catch (error) {
    throw new BadImageError(`cannot read the image header (${(error as Error).message}); expected a JPEG, PNG or WebP file`, path);
  }
}

export class ImageFileReader implements SampleReader {
  readonly shape: Shape;
  readonly length: number;

  constructor(private readonly spec: ImageFilesSource) {
    this.shape = spec.shape;
    this.length = spec.paths.length;
  }

  async read(index: number, out: Uint8Array): Promise<void> {
    out.set(await decodeImage(this.spec.paths[index]!, this.spec.shape, this.spec.fit));
  }

  describe(index: number): string {
    return this.spec.paths[index]!;
  }

  async close(): Promise<void> {}
}
