/**
 * Writers of small files in each real on-disk format, byte for byte as the publishers describe
 * them, for the data tests to read back. Pixel values encode their coordinates so a test can tell
 * exactly where every byte ended up.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";

/** A fresh temporary folder, removed by `cleanup`. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `cluelab-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** IDX bytes (type 0x08): 00 00 08 <rank>, big-endian uint32 dimensions, payload. */
export function idxBytes(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt8(0x08, 2);
  header.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** The value test images hold at (sample, row, col, channel): distinct enough to catch layout mix-ups. */
export function pixel(sample: number, row: number, col: number, channel: number): number {
  return (sample * 37 + row * 7 + col * 3 + channel * 101) % 256;
}

/** N×H×W grey images as IDX payload bytes. */
export function greyImages(n: number, h: number, w: number): Uint8Array {
  const out = new Uint8Array(n * h * w);
  for (let s = 0; s < n; s++) for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) out[(s * h + r) * w + c] = pixel(s, r, c, 0);
  return out;
}

/**
 * A CIFAR binary record: label byte(s), then the red, green and blue 32×32 planes, each row-major
 * (https://www.cs.toronto.edu/~kriz/cifar.html, "Binary version").
 */
export function cifarRecord(sample: number, labels: number[]): Buffer {
  const out = Buffer.alloc(labels.length + 3072);
  labels.forEach((l, i) => (out[i] = l));
  for (let ch = 0; ch < 3; ch++) {
    for (let r = 0; r < 32; r++) for (let c = 0; c < 32; c++) out[labels.length + ch * 1024 + r * 32 + c] = pixel(sample, r, c, ch);
  }
  return out;
}

/**
 * An STL-10 image record: 3 planes of 96×96, red then green then blue, each in column-major order
 * (https://cs.stanford.edu/~acoates/stl10/, "Binary files").
 */
export function stlRecord(sample: number): Buffer {
  const out = Buffer.alloc(3 * 96 * 96);
  for (let ch = 0; ch < 3; ch++) {
    for (let c = 0; c < 96; c++) for (let r = 0; r < 96; r++) out[ch * 9216 + c * 96 + r] = pixel(sample, r, c, ch);
  }
  return out;
}

/** Writes the four Fashion-MNIST/MNIST IDX files for both splits (gzipped or not). */
export async function writeIdxSet(dir: string, counts: { train: number; test: number }, options: { gzip?: boolean; labels?: (i: number) => number } = {}): Promise<void> {
  const { gzipSync } = await import("node:zlib");
  await mkdir(dir, { recursive: true });
  for (const [split, prefix] of [["train", "train"], ["test", "t10k"]] as const) {
    const n = counts[split];
    const images = idxBytes([n, 28, 28], greyImages(n, 28, 28));
    const labels = idxBytes([n], Uint8Array.from({ length: n }, (_, i) => (options.labels ?? ((k) => k % 10))(i)));
    const write = (name: string, bytes: Buffer) => writeFile(join(dir, options.gzip ? `${name}.gz` : name), options.gzip ? gzipSync(bytes) : bytes);
    await write(`${prefix}-images-idx3-ubyte`, images);
    await write(`${prefix}-labels-idx1-ubyte`, labels);
  }
}

/** Encodes an RGB image whose pixel (r, c) is `pixel(seed, r, c, ch)` as JPEG or PNG. */
export async function encodeImage(seed: number, height: number, width: number, format: "jpeg" | "png", channels: 1 | 3 = 3): Promise<Buffer> {
  const raw = Buffer.alloc(height * width * channels);
  for (let r = 0; r < height; r++) for (let c = 0; c < width; c++) for (let ch = 0; ch < channels; ch++) raw[(r * width + c) * channels + ch] = pixel(seed, r, c, ch);
  const img = sharp(raw, { raw: { width, height, channels } });
  return format === "png" ? img.png().toBuffer() : img.jpeg({ quality: 90 }).toBuffer();
}

/** A flat colour image (exact after JPEG too, up to rounding), for decode checks. */
export async function flatImage(rgb: [number, number, number], height: number, width: number, format: "jpeg" | "png"): Promise<Buffer> {
  const img = sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  return format === "png" ? img.png().toBuffer() : img.jpeg({ quality: 95 }).toBuffer();
}
