import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";

/** An IDX array (the MNIST file format): its dimensions and its raw unsigned bytes. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/**
 * Reads an IDX file of unsigned bytes (type code 0x08), gzipped or not, checking the magic
 * number and that the payload matches the dimensions. Errors name the file and what was expected.
 */
export async function readIdx(file: string): Promise<IdxArray> {
  let bytes: Uint8Array = await readFile(file);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new Error(`${file}: corrupt gzip stream (${(error as Error).message}); re-download the file`);
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(`${file}: not an IDX file (expected the magic bytes 00 00 <type> <rank>)`);
  }
  if (bytes[2] !== 0x08) {
    throw new Error(`${file}: IDX element type 0x${bytes[2]!.toString(16)} is not supported (expected 0x08, unsigned bytes)`);
  }
  const rank = bytes[3]!;
  const header = 4 + 4 * rank;
  if (bytes.length < header) throw new Error(`${file}: truncated IDX header (rank ${rank} needs ${header} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const actual = bytes.length - header;
  if (actual !== expected) {
    throw new Error(
      `${file}: IDX payload has ${actual} bytes but the header's dimensions ${dims.join("×")} need ${expected} (truncated or corrupt file)`,
    );
  }
  return { dims, data: bytes.subarray(header) };
}
