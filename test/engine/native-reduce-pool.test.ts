/**
 * The native column sums (native/src/reduce.cc: Sum/Mean over leading axes with few columns, a
 * bias gradient) and the tiling average pools (native/src/avgpool.cc), against the cpu backend and
 * a double-precision reference.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { tf } from "../../lib/engine/index.js";
import type { NativeAddon } from "../../lib/engine/native/addon.js";
import type { NativeBackend } from "../../lib/engine/native/backend.js";
import { AVG_TILES, windowsTile } from "../../lib/engine/native/kernels/avgpool.js";
import { poolInfo, poolParams } from "../../lib/engine/native/kernels/conv.js";
import { computeOn, loadBackend, mismatch, seeded } from "../helpers/backends.js";

const U = 2 ** -24; // float32's unit roundoff
/** Rows the kernels sum in float before adding to double (kBlockRows in reduce.cc). */
const FLOAT_CHAIN = 32;

async function nativeAddon(): Promise<NativeAddon> {
  await tf.setBackend("native");
  return (tf.backend() as NativeBackend).addon;
}

/** Per column of a row-major [R, C] x: the sum in double and Σ|x| (for the error bound). */
function columnReference(x: Float32Array, R: number, C: number): { sum: Float64Array; abs: Float64Array } {
  const sum = new Float64Array(C), abs = new Float64Array(C);
  for (let r = 0; r < R; r++)
    for (let c = 0; c < C; c++) {
      const v = x[r * C + c]!;
      sum[c] += v;
      abs[c] += Math.abs(v);
    }
  return { sum, abs };
}

/**
 * Asserts |got − sum| ≤ (FLOAT_CHAIN·u)·Σ|x| + u·|sum| per column: float chains of at most
 * FLOAT_CHAIN terms added in double, then one rounding to float. The old row-tiled kernel meets
 * the same bound, so passing it is "no less accurate than before".
 */
function assertWithinBound(got: Float32Array, ref: { sum: Float64Array; abs: Float64Array }, what: string): void {
  for (let c = 0; c < ref.sum.length; c++) {
    const err = Math.abs(got[c]! - ref.sum[c]!);
    const bound = FLOAT_CHAIN * U * ref.abs[c]! + U * Math.abs(ref.sum[c]!) + 1e-30;
    assert.ok(err <= bound, `${what}: column ${c} is ${got[c]}, the double sum ${ref.sum[c]} (error ${err.toExponential(2)} > bound ${bound.toExponential(2)})`);
  }
}

describe("native column sums (reduce.cc) against a double reference", () => {
  before(async () => {
    await loadBackend("native");
  });

  // R: one row, fewer rows than a super-row (U = 128 / C rows of C = 16), a remainder past the
  // super-rows, several float blocks, several chunks (kColumnGrain = 65536 floats). C: the
  // super-row widths (16…128), C dividing 16, C with lcm(C, 16) ≤ 128 (48, 80, 10, 24), and
  // shapes the row-tiled kernel keeps (17, 200, 256).
  const ROWS = [1, 3, 257, 4099, 70001];
  const COLS = [1, 2, 3, 10, 16, 17, 24, 32, 48, 64, 80, 128, 200, 256];
  for (const C of COLS) {
    it(`sum over rows of [R, ${C}] for R = ${ROWS.join(", ")}: within the float-chain bound, on both kernels`, async () => {
      const addon = await nativeAddon();
      for (const R of ROWS) {
        if (R * C > 5e6) continue;
        const x = seeded(R * C, R + C, -1, 1);
        const ref = columnReference(x, R, C);
        const fast = new Float32Array(C).fill(NaN), tiled = new Float32Array(C).fill(NaN);
        addon.reduce(0, fast, x, 1, R, C);
        addon.reduce(0, tiled, x, 1, R, C, 1);
        assertWithinBound(fast, ref, `[${R}, ${C}]`);
        assertWithinBound(tiled, ref, `[${R}, ${C}] row-tiled`);
      }
    });
  }

  it("a float-only running sum would lose the small terms after a large one: the double flushes keep them", async () => {
    const addon = await nativeAddon();
    for (const [R, C] of [[65536, 16], [16384, 32], [4096, 64], [2048, 128], [9000, 10]] as const) {
      // column c: one large value, then R − 1 values far below its float ulp
      const x = new Float32Array(R * C).fill(1e-8);
      for (let c = 0; c < C; c++) x[c] = 1 + c;
      const out = new Float32Array(C);
      addon.reduce(0, out, x, 1, R, C);
      assertWithinBound(out, columnReference(x, R, C), `[${R}, ${C}] large then small`);
    }
  });

  it("gives the same bits for 1 and 2 threads (chunks by size, partials added in chunk order)", async () => {
    const addon = await nativeAddon();
    const threads = addon.info().threads;
    try {
      for (const [R, C] of [[262149, 16], [65536, 64], [70001, 48], [300000, 17]] as const) {
        const x = seeded(R * C, 7 * C, -3, 5);
        const results = [1, 2, 4].map((n) => {
          addon.setThreads(n);
          const out = new Float32Array(C);
          addon.reduce(0, out, x, 1, R, C);
          return out;
        });
        assert.deepEqual(results[1], results[0], `[${R}, ${C}]: 2 threads differ from 1`);
        assert.deepEqual(results[2], results[0], `[${R}, ${C}]: 4 threads differ from 1`);
      }
    } finally {
      addon.setThreads(threads);
    }
  });

  it("sums and means several [R, C] blocks ([outer, R, C], few and many outer)", async () => {
    const addon = await nativeAddon();
    for (const [outer, R, C] of [[3, 30000, 16], [64, 256, 32], [5, 1, 64], [40, 77, 10], [2, 9, 200]] as const) {
      const x = seeded(outer * R * C, outer + R, -1, 1);
      const sum = new Float32Array(outer * C).fill(NaN), mean = new Float32Array(outer * C).fill(NaN);
      addon.reduce(0, sum, x, outer, R, C);
      addon.reduce(1, mean, x, outer, R, C);
      for (let o = 0; o < outer; o++) {
        const ref = columnReference(x.subarray(o * R * C, (o + 1) * R * C), R, C);
        assertWithinBound(sum.subarray(o * C, (o + 1) * C), ref, `sum [${outer}, ${R}, ${C}] block ${o}`);
        const refMean = { sum: ref.sum.map((s) => s / R), abs: ref.abs.map((a) => a / R) };
        assertWithinBound(mean.subarray(o * C, (o + 1) * C), refMean, `mean [${outer}, ${R}, ${C}] block ${o}`);
      }
    }
  });
});

describe("Sum and Mean through TensorFlow.js: native against cpu", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
  });

  const t = (shape: number[], seed: number) => tf.tensor(seeded(shape.reduce((a, b) => a * b, 1), seed, -1, 1), shape);
  const CASES: Array<{ name: string; run: () => tf.Tensor[] }> = [
    { name: "bias gradients: sum over axis 0 of [R, C]", run: () => [
        tf.sum(t([4096, 16], 1), 0), tf.sum(t([1025, 32], 2), 0), tf.sum(t([333, 128], 3), 0), tf.sum(t([517, 64], 4), 0),
        tf.sum(t([1, 16], 5), 0), tf.sum(t([7, 1], 6), 0), tf.sum(t([999, 17], 7), 0), tf.sum(t([64, 48], 8), 0, true),
      ] },
    { name: "sum over [0, 1, 2] of an NHWC map, mean over rows, sum over a middle axis", run: () => [
        tf.sum(t([5, 16, 16, 16], 9), [0, 1, 2]), tf.mean(t([300, 32], 10), 0), tf.sum(t([6, 50, 24], 11), 1), tf.mean(t([7, 9, 9, 64], 12), [1, 2]),
      ] },
    { name: "empty inputs", run: () => [tf.sum(tf.zeros([0, 16]), 0), tf.mean(tf.zeros([3, 0, 16]), 1), tf.sum(tf.zeros([4, 0]), 0)] },
  ];
  for (const c of CASES) {
    it(c.name, async () => {
      const expected = await computeOn("cpu", () => tf.tidy(c.run));
      const actual = await computeOn("native", () => tf.tidy(c.run));
      assert.equal(actual.leaked, 0, "native leaked tensors");
      actual.values.forEach((values, k) => {
        const { worst, at } = mismatch(values, expected.values[k]!, 1e-5, 1e-5);
        assert.ok(worst <= 1, `output ${k}: native ${values[at]} vs cpu ${expected.values[k]![at]} at ${at} (length ${values.length} vs ${expected.values[k]!.length})`);
      });
    });
  }
});

describe("tiling average pools (avgpool.cc)", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
  });

  type Window = number | [number, number];
  // [x shape, window]: CLUENet's cluster pooling (2, 4, 8 on 16/32/64 channels), 128 channels,
  // channel counts without a register kernel (1, 5, 20), a non-square window, odd batches, rows
  // and columns past the last window (10 / 3, 9 / 2), a batch of one.
  const CASES: Array<[number[], Window]> = [
    [[3, 16, 16, 32], 4], [[1, 32, 32, 16], 8], [[5, 8, 8, 64], 2], [[3, 16, 16, 16], 2], [[2, 8, 8, 128], 4],
    [[3, 10, 9, 20], [3, 2]], [[1, 6, 12, 16], [2, 3]], [[7, 4, 4, 1], 2], [[2, 9, 7, 5], [4, 3]], [[1, 5, 5, 32], 5], [[2, 6, 10, 16], 2], [[2, 7, 10, 16], [3, 4]], [[0, 4, 4, 16], 2],
  ];
  const params = (shape: number[], w: Window) => poolParams(poolInfo(shape, { filterSize: w, strides: w, pad: "valid" }));

  for (const [shape, w] of CASES) {
    it(`avgPool x ${shape.join("×")}, window ${w}: forward and gradient equal cpu's, with no leaks`, async () => {
      assert.ok(windowsTile(params(shape, w)), "this case should take the tiling kernels");
      const run = () => tf.tidy(() => {
        const x = tf.tensor4d(seeded(shape.reduce((a, b) => a * b, 1), 30, -2, 2), shape as [number, number, number, number]);
        const y = tf.avgPool(x, w, w, "valid");
        const weights = tf.tensor(seeded(y.size, 31, -1, 1), y.shape);
        const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(v as tf.Tensor4D, w, w, "valid"), weights)))(x);
        return [y, dx];
      });
      const expected = await computeOn("cpu", run);
      const actual = await computeOn("native", run);
      assert.equal(actual.leaked, 0, "native leaked tensors");
      actual.values.forEach((values, k) => {
        const { worst, at } = mismatch(values, expected.values[k]!, 1e-6, 1e-5);
        assert.ok(worst <= 1, `${["y", "dx"][k]}: native ${values[at]} vs cpu ${expected.values[k]![at]} at ${at}`);
      });
    });
  }

  it("the addon's kernels equal oneDNN's pooling on the same parameters, and overwrite every output", async () => {
    const addon = await nativeAddon();
    for (const [shape, w] of CASES) {
      const p = params(shape, w);
      const [n, h, wd, c, ho, wo] = p as unknown as number[];
      const x = seeded(n! * h! * wd! * c!, 40), dy = seeded(n! * ho! * wo! * c!, 41);
      const y = new Float32Array(dy.length).fill(NaN), yRef = new Float32Array(dy.length);
      const dx = new Float32Array(x.length).fill(NaN), dxRef = new Float32Array(x.length);
      addon.avgPoolTiles(AVG_TILES.forward, y, x, p);
      addon.pool(1, yRef, x, null, p);
      addon.avgPoolTiles(AVG_TILES.gradient, dx, dy, p);
      addon.pool(3, dxRef, dy, null, p);
      for (const [mine, ref, what] of [[y, yRef, "y"], [dx, dxRef, "dx"]] as const) {
        const { worst, at } = mismatch(mine, ref, 1e-6, 1e-5);
        assert.ok(worst <= 1, `${shape.join("×")} window ${w}, ${what}: ${mine[at]} vs oneDNN ${ref[at]} at ${at}`);
      }
    }
  });

  it("overlapping, padded or strided-apart windows keep the general pooling, and the kernel refuses them", async () => {
    const addon = await nativeAddon();
    const geometry = (shape: number[], window: Window, strides: Window, pad: "valid" | "same") =>
      poolParams(poolInfo(shape, { filterSize: window, strides, pad }));
    const refused = [
      geometry([2, 8, 8, 16], 3, 2, "valid"), // overlapping
      geometry([2, 9, 9, 16], 2, 2, "same"), // padded at the far edge
      geometry([2, 8, 8, 16], 2, 3, "valid"), // gaps between windows
      geometry([2, 8, 8, 16], [2, 2], [2, 1], "valid"),
    ];
    for (const p of refused) {
      assert.equal(windowsTile(p), false, `params ${p.join(",")} do not tile`);
      assert.throws(() => addon.avgPoolTiles(AVG_TILES.forward, new Float32Array(4096), new Float32Array(4096), p), /must tile/);
    }
    assert.ok(windowsTile(geometry([2, 8, 8, 16], 2, 2, "same")), "'same' padding on a multiple of the window pads nothing");
    assert.throws(() => addon.avgPoolTiles(2, new Float32Array(16), new Float32Array(16), params([1, 2, 2, 4], 2)), /unknown mode/);
    // such windows through TensorFlow.js: the general path still equals cpu (gradients only without
    // padding: cpu's AvgPoolGrad divides by the whole window where its forward excluded the padding)
    const run = () => tf.tidy(() => {
      const x = tf.tensor4d(seeded(2 * 9 * 9 * 16, 50, -1, 1), [2, 9, 9, 16]);
      return [tf.avgPool(x, 3, 2, "valid"), tf.avgPool(x, 2, 2, "same"), tf.grad((v: tf.Tensor) => tf.sum(tf.avgPool(v as tf.Tensor4D, 3, 2, "valid")))(x)];
    });
    const expected = await computeOn("cpu", run);
    const actual = await computeOn("native", run);
    assert.equal(actual.leaked, 0, "native leaked tensors");
    actual.values.forEach((values, k) => assert.ok(mismatch(values, expected.values[k]!, 1e-6, 1e-5).worst <= 1, `output ${k} differs from cpu`));
  });
});
