import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { tf } from "../../lib/engine/index.js";
import { normalizeAndPool, passAndPool, referenceNormalizeAndPool, referencePassAndPool, type PoolGrid } from "../../lib/engine/fused/index.js";
import { NORMALIZE_POOL, NORMALIZE_POOL_GRAD, PASS_POOL, PASS_POOL_GRAD } from "../../lib/engine/fused/names.js";
import { computeOn, loadBackend, mismatch, seeded } from "../helpers/backends.js";

const t = (shape: number[], seed: number, lo = -1, hi = 1) => tf.tensor(seeded(shape.reduce((a, b) => a * b, 1), seed, lo, hi), shape);

interface Case {
  shape: [number, number, number, number];
  heads: number;
  grid: PoolGrid;
  /** Zero one pixel's first head (the ε branch of the normalisation). */
  zeroChunk?: boolean;
  why: string;
}

const CASES: Case[] = [
  { shape: [2, 8, 8, 16], heads: 1, grid: [4, 4], why: "CLUE_nano's first stage, scaled down (unrolled d = 16)" },
  { shape: [3, 4, 4, 64], heads: 4, grid: [4, 4], why: "1×1 windows, four heads of 16" },
  { shape: [2, 6, 9, 15], heads: 3, grid: [2, 3], why: "odd sizes: 3×3 windows, heads of d = 5 (the general row path)" },
  { shape: [1, 10, 6, 32], heads: 2, grid: [5, 1], why: "unequal window sides (2×6), two heads of 16" },
  { shape: [2, 7, 5, 6], heads: 2, grid: [1, 1], why: "one window over the whole map, d = 3" },
  { shape: [2, 6, 6, 32], heads: 1, grid: [3, 2], zeroChunk: true, why: "a zero pixel (the ε branch), d = 32" },
  { shape: [5, 24, 20, 48], heads: 3, grid: [4, 4], why: "a map cut into several gradient chunks, 6×5 windows" },
];

type Use = "both" | "map" | "pooled";

/**
 * Both outputs and x's gradient of sum(a·u) + sum(p·w) for seeded weightings u, w (each element
 * of both outputs its own upstream gradient), or of one of the two terms.
 */
function valuesAndGradient(op: (x: tf.Tensor4D) => [tf.Tensor4D, tf.Tensor4D], c: Case, use: Use = "both"): tf.Tensor[] {
  return tf.tidy(() => {
    const [b, h, w, ch] = c.shape;
    let x = t(c.shape, 1, -2, 2) as tf.Tensor4D;
    if (c.zeroChunk) {
      const mask = new Float32Array(b * h * w * ch).fill(1).fill(0, ch, ch + ch / c.heads); // pixel 1's first head
      x = tf.mul(x, tf.tensor(mask, c.shape)) as tf.Tensor4D;
    }
    const u = t(c.shape, 2, 0.5, 1.5), wp = t([b, c.grid[0], c.grid[1], ch], 3, -1, 2);
    const loss = (x: tf.Tensor) => {
      const [a, p] = op(x as tf.Tensor4D);
      if (use === "map") return tf.sum(tf.mul(a, u));
      if (use === "pooled") return tf.sum(tf.mul(p, wp));
      return tf.add(tf.sum(tf.mul(a, u)), tf.sum(tf.mul(p, wp)));
    };
    return [...op(x), tf.grad(loss)(x)];
  });
}

const NAMES = ["map", "pooled", "dx"];

function assertClose(actual: Float32Array[], expected: Float32Array[], what: string, atol = 1e-5, rtol = 1e-4): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((values, k) => {
    const { worst, at } = mismatch(values, expected[k]!, atol, rtol);
    assert.ok(worst <= 1, `${what} ${NAMES[k]}: ${values[at]} vs ${expected[k]![at]} at ${at} (${worst.toFixed(1)}× the tolerance)`);
  });
}

const ops = (c: Case) => ({
  normalize: {
    fused: (x: tf.Tensor4D) => normalizeAndPool(x, c.heads, c.grid),
    reference: (x: tf.Tensor4D) => referenceNormalizeAndPool(x, c.heads, c.grid),
  },
  pass: { fused: (x: tf.Tensor4D) => passAndPool(x, c.grid), reference: (x: tf.Tensor4D) => referencePassAndPool(x, c.grid) },
});

describe("fused normalizeAndPool and passAndPool", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
  });

  for (const c of CASES) {
    for (const which of ["normalize", "pass"] as const) {
      const name = which === "normalize" ? "normalizeAndPool" : "passAndPool";
      it(`${name} equals its composition on cpu, values and gradient: ${c.why}`, async () => {
        const { fused, reference } = ops(c)[which];
        const expected = await computeOn("cpu", () => valuesAndGradient(reference, c));
        const actual = await computeOn("native", () => valuesAndGradient(fused, c));
        assert.equal(actual.leaked, 0, "native leaked tensors");
        // At a zero chunk the composition's gradient is NaN (sqrt's at 0) where the kernel, like
        // the native l2Normalize's, takes dy/ε; the bit-for-bit test below covers that branch.
        const compared = c.zeroChunk && which === "normalize" ? 2 : 3;
        assertClose(actual.values.slice(0, compared), expected.values.slice(0, compared), name);
      });

      it(`${name} equals the native kernels of its composition bit for bit: ${c.why}`, async () => {
        // The same normalisation and pool sums in the same order, and the same float addition
        // (normalisation's or skip's gradient + dy/area) once in the kernel, once as the tape's Add.
        const { fused, reference } = ops(c)[which];
        const expected = await computeOn("native", () => valuesAndGradient(reference, c));
        const actual = await computeOn("native", () => valuesAndGradient(fused, c));
        actual.values.forEach((values, k) => {
          const { at } = mismatch(values, expected.values[k]!, 0, 0);
          assert.equal(at, -1, `${NAMES[k]}: ${values[at]} vs ${expected.values[k]![at]} at ${at}`);
        });
      });
    }
  }

  for (const use of ["map", "pooled"] as const) {
    it(`gives the right gradient when only the ${use === "map" ? "full-size" : "pooled"} output is used`, async () => {
      const c = CASES[2]!;
      for (const which of ["normalize", "pass"] as const) {
        const { fused, reference } = ops(c)[which];
        const expected = await computeOn("cpu", () => valuesAndGradient(reference, c, use));
        const actual = await computeOn("native", () => valuesAndGradient(fused, c, use));
        assert.equal(actual.leaked, 0);
        assertClose(actual.values, expected.values, `${which} (${use} only)`);
      }
    });
  }

  it("runs one kernel each way with no Add or AvgPoolGrad, passes x through without a copy, and leaks nothing", async () => {
    await tf.setBackend("native");
    const before = tf.memory().numTensors;
    const x = t([2, 8, 8, 32], 1), v = t([2, 8, 8, 32], 2);
    const [skip, pooled] = passAndPool(x as tf.Tensor4D, [4, 4]);
    assert.equal(skip.dataId, x.dataId, "the pass-through shares x's storage");
    assert.notEqual(skip, x);
    tf.dispose([skip, pooled]);
    assert.deepEqual(Array.from(await x.data()), Array.from(seeded(2 * 8 * 8 * 32, 1)), "x outlives its pass-through");
    const profile = await tf.profile(() =>
      tf.grads((k: tf.Tensor, v: tf.Tensor) => {
        const [kn, kc] = normalizeAndPool(k as tf.Tensor4D, 2, [4, 4]);
        const [vs, vc] = passAndPool(v as tf.Tensor4D, [4, 4]);
        return tf.addN([tf.sum(tf.mul(kn, vs)), tf.sum(tf.mul(kc, vc))]);
      })([x, v]),
    );
    const names = profile.kernels.map((k) => k.name);
    const ours = names.filter((s) => [NORMALIZE_POOL, NORMALIZE_POOL_GRAD, PASS_POOL, PASS_POOL_GRAD].includes(s));
    assert.deepEqual(ours.sort(), [NORMALIZE_POOL, NORMALIZE_POOL_GRAD, PASS_POOL, PASS_POOL_GRAD].sort());
    const summing = profile.kernels.filter((k) => (k.name === "Add" || k.name === "AddN") && tf.util.arraysEqual(k.outputShapes[0]!, [2, 8, 8, 32]));
    assert.equal(summing.length, 0, names.join(", "));
    for (const gone of ["AvgPool", "AvgPoolGrad", "ClueL2Normalize", "ClueL2NormalizeGrad"]) assert.ok(!names.includes(gone), `${gone} ran: ${names.join(", ")}`);
    tf.dispose([x, v, ...(profile.result as tf.Tensor[])]);
    assert.equal(tf.memory().numTensors, before);
  });

  it("says which shapes it needs", () => {
    tf.tidy(() => {
      const x = tf.zeros([2, 6, 6, 8]) as tf.Tensor4D;
      assert.throws(() => normalizeAndPool(x, 2, [4, 4]), /normalizeAndPool: the grid \[4, 4\] must divide the 6×6 map into equal windows/);
      assert.throws(() => passAndPool(x, [0, 3]), /passAndPool: the grid \[0, 3\] must divide/);
      assert.throws(() => normalizeAndPool(x, 3, [3, 3]), /heads must be a whole number ≥ 1 dividing the 8 channels/);
      assert.throws(() => passAndPool(tf.zeros([6, 6, 8]) as unknown as tf.Tensor4D, [3, 3]), /must be a channels-last map \[B, H, W, C\]/);
      assert.throws(() => passAndPool(tf.zeros([1, 6, 6, 8], "int32") as tf.Tensor4D, [3, 3]), /must be float32, got int32/);
    });
  });
});
