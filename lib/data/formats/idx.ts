/**
 * The IDX format of MNIST and Fashion-MNIST: magic bytes `00 00 <type> <rank>`, `rank` big-endian
 * uint32 dimensions, then the row-major payload. Only unsigned bytes (type 0x08) occur in these
 * datasets and only those are supported.
 *
 * Files are read as streams (gzipped or not) straight into one buffer of the payload's exact size,
 * shared with worker threads, so memory stays at the payload and no thread is blocked decompressing.
 *
 * @packageDocumentation
 */
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import { DataError } from "../errors.js";

/** An IDX array of unsigned bytes: its dimensions and its payload. */
export interface IdxArray {
  dims: number[];
  /** The payload, on a SharedArrayBuffer (so worker threads can read it without a copy). */
  data: Uint8Array;
}

/** The parsed header of an IDX file. */
export interface IdxHeader {
  dims: number[];
  /** Bytes before the payload (4 + 4 × rank). */
  headerBytes: number;
}

/** Payloads larger than this are refused: a corrupt header must not make us allocate terabytes. */
const MAX_PAYLOAD = 2 ** 33;

/** True when `file` starts with the gzip magic bytes. */
export async function isGzipped(file: string): Promise<boolean> {
  const handle = await open(file, "r").catch((error: NodeJS.ErrnoException) => {
    throw new DataError(`cannot open (${error.code ?? error.message})`, file);
  });
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/**
 * Parses an IDX header from the first bytes of a file; returns undefined when more bytes are needed.
 * Errors name `file` and what was expected.
 */
export function parseIdxHeader(bytes: Uint8Array, file: string): IdxHeader | undefined {
  if (bytes.length < 4) return undefined;
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataError("not an IDX file (expected the magic bytes 00 00 <type> <rank>)", file);
  }
  if (bytes[2] !== 0x08) {
    throw new DataError(`IDX element type 0x${bytes[2]!.toString(16)} is not supported (expected 0x08, unsigned bytes)`, file);
  }
  const rank = bytes[3]!;
  if (rank === 0) throw new DataError("IDX rank 0 (expected at least one dimension)", file);
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  return { dims, headerBytes };
}

/**
 * Reads an IDX file of unsigned bytes, gzipped or not, as a stream. Checks the magic number, the
 * element type and that the payload is exactly as long as the dimensions say.
 */
export async function readIdx(file: string): Promise<IdxArray> {
  const gzipped = await isGzipped(file);
  const raw = createReadStream(file);
  const stream = gzipped ? raw.pipe(createGunzip()) : raw;
  raw.on("error", (error) => stream.destroy(error));

  let head: Buffer = Buffer.alloc(0);
  let header: IdxHeader | undefined;
  let data: Uint8Array | undefined;
  let filled = 0;
  let expected = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let bytes: Uint8Array = chunk;
      if (!header) {
        head = Buffer.concat([head, chunk]);
        header = parseIdxHeader(head, file);
        if (!header) continue;
        expected = header.dims.reduce((a, b) => a * b, 1);
        if (expected > MAX_PAYLOAD) {
          throw new DataError(`IDX dimensions ${header.dims.join("×")} claim ${expected} bytes (corrupt header?)`, file);
        }
        data = new Uint8Array(new SharedArrayBuffer(expected));
        bytes = head.subarray(header.headerBytes);
      }
      if (filled + bytes.length > expected) {
        throw new DataError(
          `IDX payload is longer than the header's dimensions ${header.dims.join("×")} allow (${expected} bytes): corrupt file`,
          file,
        );
      }
      data!.set(bytes, filled);
      filled += bytes.length;
    }
  } catch (error) {
    stream.destroy();
    raw.destroy();
    if (error instanceof DataError) throw error;
    const e = error as NodeJS.ErrnoException;
    if (gzipped && (e.code?.startsWith("Z_") || /unexpected end of file|incorrect header check|invalid/i.test(e.message))) {
      throw new DataError(`corrupt gzip stream (${e.message}); delete the file and download it again`, file);
    }
    throw new DataError(`cannot read (${e.code ?? e.message})`, file);
  }
  if (!header) {
    throw new DataError(`truncated IDX header (${head.length} bytes; the header needs ${head.length < 4 ? 4 : 4 + 4 * head[3]!})`, file);
  }
  if (filled !== expected) {
    throw new DataError(
      `IDX payload has ${filled} bytes but the header's dimensions ${header.dims.join("×")} need ${expected} (truncated or corrupt file)`,
      file,
    );
  }
  return { dims: header.dims, data: data ?? new Uint8Array(new SharedArrayBuffer(0)) };
}
