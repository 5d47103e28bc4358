/**
 * Where a dataset's pixels come from, described as plain data so the same description opens a
 * reader on the main thread (for `get(i)`) and in worker threads (for batches):
 *
 * - `memory`: fixed-size records in a buffer shared with the workers (IDX files, after streaming
 *   them in once);
 * - `files`: fixed-size records read by position from one or more files (CIFAR, STL-10): memory
 *   stays at one batch whatever the file size;
 * - `images`: one encoded image (JPEG, PNG, …) per file, decoded and resized with sharp (libvips)
 *   off the JavaScript thread.
 *
 * @packageDocumentation
 */
import { closeSync, openSync, readSync } from "node:fs";
import { DataError } from "../errors.js";
import { formatShape, type Shape } from "../image.js";

/**
 * How a record's pixels are laid out: `hwc` (IDX, decoded images), `chw` (CIFAR: one row-major
 * plane per channel), `chw-column-major` (STL-10: one column-major plane per channel).
 */
export type PixelLayout = "hwc" | "chw" | "chw-column-major";

/** Fixed-size records: `recordBytes` each, pixels start `pixelOffset` bytes into a record. */
export interface RecordFormat {
  recordBytes: number;
  pixelOffset: number;
  layout: PixelLayout;
  shape: Shape;
}

/** Records held in memory shared with worker threads. */
export interface MemorySource extends RecordFormat {
  kind: "memory";
  /** The file the records came from (for messages). */
  file: string;
  /** The records, back to back (a view of a SharedArrayBuffer). */
  bytes: Uint8Array;
}

/** One file of records: `count` records after `offset` header bytes. */
export interface RecordFile {
  path: string;
  count: number;
  offset: number;
}

/** Records read by position from files. */
export interface FileSource extends RecordFormat {
  kind: "files";
  files: RecordFile[];
}

/** How an image is fitted to the dataset's size: cropped to fill, stretched, or letterboxed. */
export type Fit = "cover" | "fill" | "contain";

/** One encoded image per file, decoded to `shape` (resized with `fit` when sizes differ). */
export interface ImageFilesSource {
  kind: "images";
  paths: string[];
  shape: Shape;
  fit: Fit;
}

/** A plain-data description of a dataset's pixels (structured-cloneable to worker threads). */
export type SourceSpec = MemorySource | FileSource | ImageFilesSource;

/** Reads samples as HWC bytes. */
export interface SampleReader {
  readonly shape: Shape;
  readonly length: number;
  /** Reads sample `index` into `out` (height × width × channels bytes, HWC). */
  read(index: number, out: Uint8Array): Promise<void>;
  /** Where sample `index` lives, for messages. */
  describe(index: number): string;
  close(): Promise<void>;
}

/** The number of samples a source holds. */
export function sourceLength(spec: SourceSpec): number {
  switch (spec.kind) {
    case "memory":
      return Math.floor(spec.bytes.length / spec.recordBytes);
    case "files":
      return spec.files.reduce((n, f) => n + f.count, 0);
    case "images":
      return spec.paths.length;
  }
}

/** Opens a reader for `spec` (on whichever thread calls it). */
export async function openReader(spec: SourceSpec): Promise<SampleReader> {
  switch (spec.kind) {
    case "memory":
      return new MemoryReader(spec);
    case "files":
      return new FileReader(spec);
    case "images": {
      const { ImageFileReader } = await import("./decode.js");
      return new ImageFileReader(spec);
    }
  }
}

/** Copies one record's pixels, in `layout`, into `out` as HWC. */
export function recordToHwc(pixels: Uint8Array, layout: PixelLayout, shape: Shape, out: Uint8Array): void {
  const [h, w, c] = shape;
  if (layout === "hwc") {
    out.set(pixels.subarray(0, h * w * c));
    return;
  }
  const plane = h * w;
  for (let ch = 0; ch < c; ch++) {
    const base = ch * plane;
    if (layout === "chw") {
      for (let p = 0; p < plane; p++) out[p * c + ch] = pixels[base + p]!;
    } else {
      // Column-major plane: pixel (row, col) is at col * h + row.
      for (let col = 0; col < w; col++) {
        const src = base + col * h;
        for (let row = 0; row < h; row++) out[(row * w + col) * c + ch] = pixels[src + row]!;
      }
    }
  }
}

class MemoryReader implements SampleReader {
  readonly shape: Shape;
  readonly length: number;

  constructor(private readonly spec: MemorySource) {
    this.shape = spec.shape;
    this.length = sourceLength(spec);
  }

  async read(index: number, out: Uint8Array): Promise<void> {
    const { recordBytes, pixelOffset, layout, shape, bytes } = this.spec;
    const start = index * recordBytes + pixelOffset;
    recordToHwc(bytes.subarray(start, start + recordBytes - pixelOffset), layout, shape, out);
  }

  describe(index: number): string {
    return `${this.spec.file} (record ${index})`;
  }

  async close(): Promise<void> {}
}

class FileReader implements SampleReader {
  readonly shape: Shape;
  readonly length: number;
  private readonly fds = new Map<string, number>();
  private readonly record: Uint8Array;
  /** Cumulative record counts: file k holds indices [starts[k], starts[k+1]). */
  private readonly starts: number[];

  constructor(private readonly spec: FileSource) {
    this.shape = spec.shape;
    this.length = sourceLength(spec);
    this.record = new Uint8Array(spec.recordBytes);
    this.starts = [0];
    for (const f of spec.files) this.starts.push(this.starts.at(-1)! + f.count);
  }

  private locate(index: number): { file: RecordFile; local: number } {
    let k = 0;
    while (index >= this.starts[k + 1]!) k++;
    return { file: this.spec.files[k]!, local: index - this.starts[k]! };
  }

  async read(index: number, out: Uint8Array): Promise<void> {
    const { file, local } = this.locate(index);
    let fd = this.fds.get(file.path);
    if (fd === undefined) {
      try {
        fd = openSync(file.path, "r");
      } catch (error) {
        throw new DataError(`cannot open (${(error as NodeJS.ErrnoException).code})`, file.path);
      }
      this.fds.set(file.path, fd);
    }
    const { recordBytes, pixelOffset, layout, shape } = this.spec;
    const position = file.offset + local * recordBytes;
    const got = readSync(fd, this.record, 0, recordBytes, position);
    if (got !== recordBytes) {
      throw new DataError(
        `record ${local} ends the file after ${got} of ${recordBytes} bytes (file truncated since it was opened?)`,
        file.path,
      );
    }
    recordToHwc(this.record.subarray(pixelOffset), layout, shape, out);
  }

  describe(index: number): string {
    const { file, local } = this.locate(index);
    return `${file.path} (record ${local})`;
  }

  async close(): Promise<void> {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

/** Checks that a reader produced the expected shape (used by decoders). */
export function expectShape(found: readonly number[], expected: Shape, where: string): void {
  if (found.join() !== expected.join()) {
    throw new DataError(`decoded to ${formatShape(found)}, expected ${formatShape(expected)}`, where);
  }
}
