/**
 * The native Add of two whole large arrays (native/src/elementwise.cc, addStreaming: the output
 * written with non-temporal stores from its first 64-byte boundary on) against plain float sums.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { tf } from "../../lib/engine/index.js";
import type { NativeBackend } from "../../lib/engine/native/backend.js";
import { loadBackend, seeded } from "../helpers/backends.js";

/** Elements from which the streaming path runs (kStreamElements in elementwise.cc). */
const STREAM = 1 << 19;
const ADD = 0; // BinaryOp::kAdd

describe("native Add, streaming stores", () => {
  before(async () => {
    await loadBackend("native");
  });

  it("matches element-wise float sums at every output alignment, head and tail included", async () => {
    await tf.setBackend("native");
    const addon = (tf.backend() as NativeBackend).addon;
    for (const n of [STREAM, STREAM + 13, 3 * STREAM + 7]) {
      const a = seeded(n, 1, -3, 3), b = seeded(n, 2, -3, 3);
      for (const offset of [0, 1, 5, 15]) {
        // A view starting `offset` floats into its buffer: the head loop runs up to the next 64-byte boundary.
        const out = new Float32Array(new ArrayBuffer((n + offset) * 4), offset * 4, n).fill(Number.NaN);
        addon.binary(ADD, out, a, b, new Int32Array([n]), new Int32Array([1]), new Int32Array([1]));
        for (let i = 0; i < n; i++) {
          if (out[i] !== Math.fround(a[i]! + b[i]!)) assert.fail(`n ${n}, offset ${offset}: element ${i} is ${out[i]}, not ${Math.fround(a[i]! + b[i]!)}`);
        }
      }
    }
  });

  it("is what tf.add gives on a 4-D gradient-sized tensor, as on the cpu backend", async () => {
    const shape = [8, 32, 32, 80]; // 655,360 elements
    const size = shape.reduce((x, y) => x * y, 1);
    const values = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => tf.add(tf.tensor(seeded(size, 3), shape), tf.tensor(seeded(size, 4), shape)).dataSync() as Float32Array);
    };
    const native = await values("native"), cpu = await values("cpu");
    assert.ok(native.every((v, i) => v === cpu[i]), "native and cpu sums differ");
    await tf.setBackend("native");
  });
});
