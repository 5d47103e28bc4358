/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N, N
 * bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}`
 * (padded with spaces so the data starts 8-byte aligned), then the little-endian tensor bytes,
 * offsets relative to the end of the header, contiguous and without holes.
 */
import { readFile, rename, writeFile } from "node:fs/promises";

/** The element types of the format. */
export type SafetensorsDtype =
  | "BOOL" | "U8" | "I8" | "I16" | "U16" | "F16" | "BF16" | "I32" | "U32" | "F32" | "F64" | "I64" | "U64"
  | "F8_E4M3" | "F8_E5M2";

const BYTES: Record<SafetensorsDtype, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Largest header the reference implementation accepts (100 MB). */
const MAX_HEADER = 100_000_000;

/** One tensor of a file: its raw little-endian bytes, type and shape. */
export interface RawTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** A view into the file's bytes. */
  bytes: Uint8Array;
}

export interface Safetensors {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

/** A malformed file or an unsupported request; the message says which tensor and what is wrong. */
export class SafetensorsError extends Error {
  override name = "SafetensorsError";
}

/** Parses a safetensors file held in memory. Tensors are views into `bytes` (no copy). */
export function parseSafetensors(bytes: Uint8Array, source = "safetensors data"): Safetensors {
  const fail = (why: string): never => {
    throw new SafetensorsError(`${source} is not a valid safetensors file: ${why}`);
  };
  if (bytes.length < 8) fail(`it has ${bytes.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) fail(`the header claims ${n} bytes (more than ${MAX_HEADER})`);
  const headerLength = Number(n);
  if (8 + headerLength > bytes.length) fail(`the header claims ${headerLength} bytes but the file has ${bytes.length - 8} after the length`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    fail(`the header is not UTF-8 JSON (${(error as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) fail("the header is not a JSON object");
  const data = bytes.subarray(8 + headerLength);
  const tensors = new Map<string, RawTensor>();
  let metadata: Record<string, string> = {};
  const spans: Array<[number, number, string]> = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof entry !== "object" || entry === null || Array.isArray(entry)) fail("__metadata__ is not an object");
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__.${k} is not a string`);
      }
      metadata = { ...(entry as Record<string, string>) };
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== "object" || e === null) fail(`entry "${name}" is not an object`);
    if (typeof e.dtype !== "string" || !(e.dtype in BYTES)) fail(`tensor "${name}" has unknown dtype ${JSON.stringify(e.dtype)}`);
    const dtype = e.dtype as SafetensorsDtype;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor "${name}" has an invalid shape ${JSON.stringify(e.shape)}`);
    }
    const shape = e.shape as number[];
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = shape.reduce((a, b) => a * b, 1) * BYTES[dtype];
    if (end < begin || end - begin !== expected) {
      fail(`tensor "${name}" (${dtype} [${shape.join(", ")}]) needs ${expected} bytes but data_offsets span ${end - begin}`);
    }
    if (end > data.length) fail(`tensor "${name}" ends at byte ${end} of a ${data.length}-byte data section (truncated file?)`);
    spans.push([begin, end, name]);
    tensors.set(name, { dtype, shape, bytes: data.subarray(begin, end) });
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let covered = 0;
  for (const [begin, end, name] of spans) {
    if (begin < covered) fail(`tensor "${name}" overlaps the tensor before it`);
    if (begin > covered) fail(`bytes ${covered}..${begin} of the data section belong to no tensor`);
    covered = end;
  }
  if (covered !== data.length) fail(`bytes ${covered}..${data.length} of the data section belong to no tensor`);
  return { tensors, metadata };
}

/** Reads and parses a safetensors file. */
export async function readSafetensors(file: string): Promise<Safetensors> {
  return parseSafetensors(await readFile(file), file);
}

/**
 * A tensor's values as float32 (from F32, F16, BF16 or F64: PyTorch checkpoints saved in half
 * precision load too). Other types are an error naming the tensor.
 */
export function toFloat32(name: string, t: RawTensor): Float32Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const out = new Float32Array(n);
  switch (t.dtype) {
    case "F32":
      if (LITTLE_ENDIAN) {
        new Uint8Array(out.buffer).set(t.bytes); // the file is little-endian too: one copy
        return out;
      }
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    case "F64":
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    case "F16":
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    case "BF16": {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    default:
      throw new SafetensorsError(`tensor "${name}" is ${t.dtype}; a floating-point tensor (F32, F16, BF16, F64) was expected`);
  }
}

/** A tensor's values as int32 (from I32, I64 within range, U8, I8, I16, U16). */
export function toInt32(name: string, t: RawTensor): Int32Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const out = new Int32Array(n);
  const read: Partial<Record<SafetensorsDtype, (i: number) => number>> = {
    I32: (i) => view.getInt32(4 * i, true),
    I64: (i) => {
      const v = view.getBigInt64(8 * i, true);
      if (v > 2147483647n || v < -2147483648n) throw new SafetensorsError(`tensor "${name}" holds ${v}, outside int32`);
      return Number(v);
    },
    U8: (i) => view.getUint8(i),
    I8: (i) => view.getInt8(i),
    I16: (i) => view.getInt16(2 * i, true),
    U16: (i) => view.getUint16(2 * i, true),
  };
  const get = read[t.dtype];
  if (!get) throw new SafetensorsError(`tensor "${name}" is ${t.dtype}; an integer tensor was expected`);
  for (let i = 0; i < n; i++) out[i] = get(i);
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** A tensor to write: float32 or int32 values with a shape. */
export interface TensorToWrite {
  shape: readonly number[];
  data: Float32Array | Int32Array;
}

/**
 * Serialises tensors (in the order given) and optional string metadata to safetensors bytes,
 * the header padded with spaces so the data section starts 8-byte aligned.
 */
export function serializeSafetensors(tensors: Iterable<[string, TensorToWrite]>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  const chunks: Uint8Array[] = [];
  let offset = 0;
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  for (const [name, t] of tensors) {
    if (name === "__metadata__") throw new SafetensorsError(`"__metadata__" cannot name a tensor`);
    if (Object.hasOwn(header, name)) throw new SafetensorsError(`tensor name "${name}" given twice`);
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) {
      throw new SafetensorsError(`tensor "${name}": shape [${t.shape.join(", ")}] holds ${size} values but ${t.data.length} were given`);
    }
    const bytes = new Uint8Array(t.data.length * 4);
    if (LITTLE_ENDIAN) {
      bytes.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    } else {
      const view = new DataView(bytes.buffer);
      if (t.data instanceof Float32Array) t.data.forEach((v, i) => view.setFloat32(4 * i, v, true));
      else t.data.forEach((v, i) => view.setInt32(4 * i, v, true));
    }
    header[name] = { dtype: t.data instanceof Float32Array ? "F32" : "I32", shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  const encoded = new TextEncoder().encode(json);
  json += " ".repeat((8 - (encoded.length % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Writes a safetensors file atomically (a temporary file renamed into place). */
export async function writeSafetensors(
  file: string,
  tensors: Iterable<[string, TensorToWrite]>,
  metadata?: Record<string, string>,
): Promise<void> {
  const bytes = serializeSafetensors(tensors, metadata);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, file);
}
