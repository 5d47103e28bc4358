/**
 * Fixed-size binary records (CIFAR, STL-10): size checks and a streaming pass that collects the
 * label bytes without holding the file in memory.
 *
 * @packageDocumentation
 */
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { DataError } from "../errors.js";

/** The number of `recordBytes`-sized records in `file`; an error when its size is not a whole number of them. */
export async function countRecords(file: string, recordBytes: number, what: string): Promise<number> {
  const size = (await stat(file).catch((e: NodeJS.ErrnoException) => {
    throw new DataError(`cannot read (${e.code ?? e.message})`, file);
  })).size;
  if (size === 0 || size % recordBytes !== 0) {
    throw new DataError(
      `${size} bytes is not a whole number of ${recordBytes}-byte ${what} records (truncated or not this format; ` +
        `expected a multiple of ${recordBytes})`,
      file,
    );
  }
  return size / recordBytes;
}

/**
 * Reads byte `offsets[k]` of every record of `file`, streaming, into one array per offset.
 * `count` records are expected (checked by {@link countRecords} beforehand).
 */
export async function scanRecordBytes(file: string, recordBytes: number, count: number, offsets: number[]): Promise<Uint8Array[]> {
  const out = offsets.map(() => new Uint8Array(count));
  let position = 0; // byte position in the file
  const stream = createReadStream(file, { highWaterMark: recordBytes * 256 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      offsets.forEach((offset, k) => {
        // First record whose byte `offset` falls in this chunk.
        let r = Math.ceil((position - offset) / recordBytes);
        if (r < 0) r = 0;
        for (let at = r * recordBytes + offset - position; at < chunk.length && r < count; at += recordBytes, r++) {
          out[k]![r] = chunk[at]!;
        }
      });
      position += chunk.length;
    }
  } catch (error) {
    throw new DataError(`cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, file);
  }
  if (position !== count * recordBytes) throw new DataError(`changed size while being read (${position} bytes, expected ${count * recordBytes})`, file);
  return out;
}

/** Non-empty trimmed lines of a small text file (class names), or undefined when it is absent. */
export async function readNames(file: string): Promise<string[] | undefined> {
  try {
    return (await readFile(file, "utf8")).split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new DataError(`cannot read (${(error as NodeJS.ErrnoException).code})`, file);
  }
}
