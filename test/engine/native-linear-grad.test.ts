/**
 * The dense layer's one-sweep gradient (native/src/linear.cc, addon.linearGrad) against sums in
 * double precision, and the engine's ClueLinearGrad on the native backend against the cpu
 * backend on the shapes it routes to the sweep.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { tf } from "../../lib/engine/index.js";
import type { NativeAddon } from "../../lib/engine/native/addon.js";
import type { NativeBackend } from "../../lib/engine/native/backend.js";
import { sweepsRows } from "../../lib/engine/native/kernels/linear.js";
import { LINEAR_GRAD } from "../../lib/engine/fused/names.js";
import { computeOn, loadBackend, mismatch, seeded } from "../helpers/backends.js";

async function nativeAddon(): Promise<NativeAddon> {
  await loadBackend("native");
  return (tf.findBackend("native") as NativeBackend).addon;
}

/** dx, dw and dbias summed in double. */
function reference(dy: Float32Array, x: Float32Array, w: Float32Array, rows: number, k: number, n: number): Float32Array[] {
  const dx = new Float32Array(rows * k), dw = new Float64Array(k * n), db = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    for (let p = 0; p < k; p++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += dy[r * n + j]! * w[p * n + j]!;
      dx[r * k + p] = s;
      const xv = x[r * k + p]!;
      for (let j = 0; j < n; j++) dw[p * n + j] += xv * dy[r * n + j]!;
    }
    for (let j = 0; j < n; j++) db[j] += dy[r * n + j]!;
  }
  return [dx, Float32Array.from(dw), Float32Array.from(db)];
}

function sweep(addon: NativeAddon, dy: Float32Array, x: Float32Array, w: Float32Array, rows: number, k: number, n: number, bias: boolean) {
  const dx = new Float32Array(rows * k).fill(NaN), dw = new Float32Array(k * n).fill(NaN), db = bias ? new Float32Array(n).fill(NaN) : null;
  addon.linearGrad(dx, dw, db, dy, x, w, rows, k, n);
  return db ? [dx, dw, db] : [dx, dw];
}

// [rows, k, n]: k and n below, at and between vector widths (1, 5, 16, 17, 33, 64), both orders
// of k and n (dw summed transposed when k > n), rows of 1, below one block, not a multiple of
// the block, and enough for many chunks.
const SHAPES: Array<[number, number, number]> = [
  [1, 16, 16], [1, 5, 17], [7, 1, 1], [37, 17, 16], [300, 16, 64], [301, 64, 16], [1000, 33, 5], [2049, 5, 33],
  [4099, 32, 32], [999, 64, 64], [20011, 16, 16], [3001, 17, 48],
];

describe("native linearGrad: the one-sweep dense-layer gradient", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
  });

  it("equals dy·wᵀ, xᵀ·dy and Σ dy summed in double, with and without bias, on odd sizes", async () => {
    const addon = await nativeAddon();
    for (const [rows, k, n] of SHAPES) {
      const dy = seeded(rows * n, rows + n, -1, 1), x = seeded(rows * k, k + 3, -1, 1), w = seeded(k * n, k * n, -1, 1);
      const want = reference(dy, x, w, rows, k, n);
      for (const bias of [true, false]) {
        const got = sweep(addon, dy, x, w, rows, k, n, bias);
        assert.equal(got.length, bias ? 3 : 2);
        // dw and dbias are sums over up to 20,011 rows in float: error grows with √rows.
        const rtol = 1e-5 * Math.sqrt(rows);
        ["dx", "dw", "dbias"].slice(0, got.length).forEach((what, i) => {
          const { worst, at } = mismatch(got[i]!, want[i]!, 1e-5 * Math.sqrt(rows), rtol);
          assert.ok(worst <= 1, `[${rows}, ${k}, ${n}] ${bias ? "with" : "no"} bias, ${what}: ${got[i]![at]} vs ${want[i]![at]} at ${at}`);
        });
      }
    }
  });

  it("gives the same bits for 1, 2 and 3 threads (a fixed chunk cut, partials added in chunk order)", async () => {
    const addon = await nativeAddon();
    const threads = addon.info().threads;
    try {
      for (const [rows, k, n] of [[65536, 16, 16], [20011, 64, 16], [9001, 17, 33]] as const) {
        const dy = seeded(rows * n, 5, -1, 1), x = seeded(rows * k, 6, -1, 1), w = seeded(k * n, 7, -1, 1);
        const results = [1, 2, 3].map((t) => {
          addon.setThreads(t);
          return sweep(addon, dy, x, w, rows, k, n, true);
        });
        assert.deepEqual(results[1], results[0], `[${rows}, ${k}, ${n}]: 2 threads differ from 1`);
        assert.deepEqual(results[2], results[0], `[${rows}, ${k}, ${n}]: 3 threads differ from 1`);
      }
    } finally {
      addon.setThreads(threads);
    }
  });

  it("gives dw and dbias bit for bit without dx (null), the way linearPair's gradient calls it", async () => {
    const addon = await nativeAddon();
    for (const [rows, k, n] of [[37, 17, 16], [20011, 16, 16], [301, 64, 16], [2049, 5, 33]] as const) {
      const dy = seeded(rows * n, 8, -1, 1), x = seeded(rows * k, 9, -1, 1), w = seeded(k * n, 10, -1, 1);
      const [, dw, db] = sweep(addon, dy, x, w, rows, k, n, true);
      const dw2 = new Float32Array(k * n).fill(NaN), db2 = new Float32Array(n).fill(NaN);
      addon.linearGrad(null, dw2, db2, dy, x, w, rows, k, n);
      assert.deepEqual(dw2, dw, `[${rows}, ${k}, ${n}] dw`);
      assert.deepEqual(db2, db, `[${rows}, ${k}, ${n}] dbias`);
    }
  });

  it("is what ClueLinearGrad runs for layers up to 64 wide, matching the cpu backend", async () => {
    assert.ok(sweepsRows(16, 16) && sweepsRows(64, 64) && sweepsRows(1, 17));
    assert.ok(!sweepsRows(128, 32) && !sweepsRows(32, 128));
    for (const [rows, k, n] of [[5000, 16, 64], [3, 64, 17], [1025, 32, 32]] as const) {
      for (const hasBias of [true, false]) {
        const inputs = () => ({ dy: tf.tensor(seeded(rows * n, 1), [rows, n]), x: tf.tensor(seeded(rows * k, 2), [rows, k]), w: tf.tensor(seeded(k * n, 3), [k, n]) });
        const run = () => tf.tidy(() => tf.engine().runKernel(LINEAR_GRAD, inputs(), { hasBias }) as tf.Tensor[]);
        const composed = () =>
          tf.tidy(() => {
            const { dy, x, w } = inputs();
            const out = [tf.matMul(dy, w, false, true), tf.matMul(x, dy, true, false)];
            return hasBias ? [...out, tf.sum(dy, 0)] : out;
          });
        const mine = await computeOn("native", run);
        const theirs = await computeOn("cpu", composed);
        assert.equal(mine.leaked, 0);
        assert.equal(mine.values.length, hasBias ? 3 : 2);
        mine.values.forEach((v, i) => {
          const { worst, at } = mismatch(v, theirs.values[i]!, 1e-4, 1e-4);
          assert.ok(worst <= 1, `[${rows}, ${k}, ${n}] output ${i}: ${v[at]} vs ${theirs.values[i]![at]} at ${at}`);
        });
      }
    }
  });

  it("says what was wrong with bad sizes", async () => {
    const addon = await nativeAddon();
    const f = (m: number) => new Float32Array(m);
    assert.throws(() => addon.linearGrad(f(4), f(4), null, f(4), f(4), f(4), 2, 0, 2), /linearGrad: need rows ≥ 0 and k, n ≥ 1/);
    assert.throws(() => addon.linearGrad(f(4), f(4), null, f(3), f(4), f(4), 2, 2, 2), /holds 3 elements, needs 4/);
  });
});
