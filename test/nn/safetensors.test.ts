import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  SafetensorsError, parseSafetensors, readSafetensors, serializeSafetensors, toFloat32, toInt32, writeSafetensors,
} from "../../lib/nn/index.js";

/** A file built byte by byte from a header object and a data section, as the format defines it. */
function handMade(header: Record<string, unknown>, data: Uint8Array, pad = 0): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header) + " ".repeat(pad));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

test("writes the format: little-endian u64 header length, JSON header, 8-byte aligned data, metadata", () => {
  const bytes = serializeSafetensors(
    [
      ["b", { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) }],
      ["a", { shape: [], data: new Float32Array([-0.5]) }],
      ["i", { shape: [3], data: new Int32Array([7, -8, 9]) }],
    ],
    { format: "pt", note: "x" },
  );
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0, "data section starts 8-byte aligned");
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assert.deepEqual(header.__metadata__, { format: "pt", note: "x" });
  assert.deepEqual(header.b, { dtype: "F32", shape: [2, 3], data_offsets: [0, 24] });
  assert.deepEqual(header.a, { dtype: "F32", shape: [], data_offsets: [24, 28] });
  assert.deepEqual(header.i, { dtype: "I32", shape: [3], data_offsets: [28, 40] });
  assert.equal(bytes.length, 8 + n + 40);
  const data = new DataView(bytes.buffer, 8 + n);
  assert.equal(data.getFloat32(4, true), 2);
  assert.equal(data.getFloat32(24, true), -0.5);
  assert.equal(data.getInt32(32, true), -8);
});

test("round-trips tensors, their order and metadata through a file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cluelab-st-"));
  try {
    const file = join(dir, "w.safetensors");
    const w = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 1e3);
    await writeSafetensors(file, [["w", { shape: [10, 100], data: w }], ["k", { shape: [2], data: new Int32Array([1, 2]) }]], { format: "pt" });
    const st = await readSafetensors(file);
    assert.deepEqual([...st.tensors.keys()], ["w", "k"]);
    assert.deepEqual(st.metadata, { format: "pt" });
    assert.deepEqual(toFloat32("w", st.tensors.get("w")!), w);
    assert.deepEqual(toInt32("k", st.tensors.get("k")!), new Int32Array([1, 2]));
    assert.deepEqual(st.tensors.get("w")!.shape, [10, 100]);
    // unaligned views (a header whose length is not a multiple of 4) still read correctly
    const raw = await readFile(file);
    const shifted = new Uint8Array(raw.length + 1);
    shifted.set(raw, 1);
    assert.deepEqual(toFloat32("w", parseSafetensors(shifted.subarray(1)).tensors.get("w")!), w);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("reads half, bfloat16, double and int64 tensors as written by PyTorch", () => {
  const data = new Uint8Array(2 * 3 + 2 * 2 + 8 * 2 + 8 * 2);
  const v = new DataView(data.buffer);
  [0x3c00, 0xc000, 0x3555].forEach((h, i) => v.setUint16(2 * i, h, true)); // 1, -2, 0.33325
  [0x3f80, 0x4049].forEach((h, i) => v.setUint16(6 + 2 * i, h, true)); // 1, 3.140625
  v.setFloat64(10, 0.1, true);
  v.setFloat64(18, -3, true);
  v.setBigInt64(26, 5n, true);
  v.setBigInt64(34, -6n, true);
  const st = parseSafetensors(
    handMade(
      {
        h: { dtype: "F16", shape: [3], data_offsets: [0, 6] },
        b: { dtype: "BF16", shape: [2], data_offsets: [6, 10] },
        d: { dtype: "F64", shape: [2], data_offsets: [10, 26] },
        l: { dtype: "I64", shape: [2], data_offsets: [26, 42] },
      },
      data,
    ),
  );
  assert.deepEqual([...toFloat32("h", st.tensors.get("h")!)], [1, -2, 0.333251953125]);
  assert.deepEqual([...toFloat32("b", st.tensors.get("b")!)], [1, 3.140625]);
  assert.deepEqual([...toFloat32("d", st.tensors.get("d")!)], [Math.fround(0.1), -3]);
  assert.deepEqual([...toInt32("l", st.tensors.get("l")!)], [5, -6]);
  assert.throws(() => toFloat32("l", st.tensors.get("l")!), /tensor "l" is I64; a floating-point tensor/);
});

test("malformed files are errors that say what is wrong", () => {
  const ok = { dtype: "F32", shape: [2], data_offsets: [0, 8] };
  const eight = new Uint8Array(8);
  const bad: Array<[Uint8Array, RegExp]> = [
    [new Uint8Array(4), /fewer than the 8-byte header length/],
    [handMade({ t: ok }, eight).subarray(0, 20), /claims \d+ bytes but the file has/],
    [handMade({ t: { ...ok, dtype: "F33" } }, eight), /unknown dtype "F33"/],
    [handMade({ t: { ...ok, shape: [3] } }, eight), /needs 12 bytes but data_offsets span 8/],
    [handMade({ t: { ...ok, shape: [-1] } }, eight), /invalid shape/],
    [handMade({ t: { ...ok, data_offsets: [0, 16] } }, eight), /needs 8 bytes but data_offsets span 16/],
    [handMade({ t: ok, u: { ...ok, data_offsets: [4, 12] } }, new Uint8Array(12)), /overlaps/],
    [handMade({ t: ok }, new Uint8Array(12)), /belong to no tensor/],
    [handMade({ t: ok, __metadata__: { k: 1 } }, eight), /__metadata__.k is not a string/],
  ];
  for (const [bytes, message] of bad) {
    assert.throws(() => parseSafetensors(bytes, "w.safetensors"), (e: Error) => e instanceof SafetensorsError && message.test(e.message) && /w\.safetensors/.test(e.message));
  }
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
  assert.throws(() => parseSafetensors(huge), /more than 100000000/);
  const text = new TextEncoder().encode("not json");
  const notJson = new Uint8Array(8 + text.length);
  new DataView(notJson.buffer).setBigUint64(0, BigInt(text.length), true);
  notJson.set(text, 8);
  assert.throws(() => parseSafetensors(notJson), /not UTF-8 JSON/);
  assert.doesNotThrow(() => parseSafetensors(handMade({ t: ok }, eight, 3)), "trailing header spaces are allowed");
});

test("writing refuses mismatched sizes and duplicate names", () => {
  assert.throws(() => serializeSafetensors([["a", { shape: [3], data: new Float32Array(2) }]]), /holds 3 values but 2 were given/);
  assert.throws(
    () => serializeSafetensors([["a", { shape: [1], data: new Float32Array(1) }], ["a", { shape: [1], data: new Float32Array(1) }]]),
    /given twice/,
  );
});
