import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { tf } from "../../lib/engine/index.js";
import { referenceSoftAggregate, softAggregate } from "../../lib/engine/fused/index.js";
import { loadAddon } from "../../lib/engine/native/addon.js";
import { computeOn, loadBackend, mismatch, seeded } from "../helpers/backends.js";
import { groupsToRows } from "./heads-layout.js";

const t = (shape: number[], seed: number, lo = -1, hi = 1) => tf.tensor(seeded(shape.reduce((a, b) => a * b, 1), seed, lo, hi), shape);

interface Case {
  /** groups, centers, pixels, q/k channels, v channels */
  g: number;
  m: number;
  n: number;
  d: number;
  dv: number;
  /** q's entries lie in [−qRange, qRange): large ranges make peaked softmaxes and scores far from 0. */
  qRange: number;
  why: string;
}

// The general kernel takes pixels in blocks of 16384 / M (at least 8): one block for CLUE_nano's
// shapes, several (online softmax, a running max) for the large-N cases. On AVX-512, M = 16 with
// d and dv of 16 or 32 take the register-blocked kernels instead: blocks of 64 pixels, 4 at a time.
const CASES: Case[] = [
  { g: 4, m: 16, n: 1024, d: 16, dv: 16, qRange: 3, why: "CLUE_nano's first stage, one block" },
  { g: 3, m: 5, n: 37, d: 7, dv: 9, qRange: 2, why: "odd sizes (N not a multiple of the vector width), dv ≠ d" },
  { g: 2, m: 1, n: 20000, d: 6, dv: 3, qRange: 3, why: "M = 1: two blocks of 16384 and the rest" },
  { g: 2, m: 16, n: 5000, d: 16, dv: 16, qRange: 2, why: "large N: five blocks of 1024, the last partial" },
  { g: 2, m: 40, n: 1500, d: 8, dv: 8, qRange: 2, why: "blocks of 409 pixels (M = 40)" },
  { g: 5, m: 16, n: 300, d: 32, dv: 32, qRange: 1, why: "d = 32" },
  { g: 2, m: 3, n: 1, d: 4, dv: 4, qRange: 1, why: "a single pixel: the output is v, no gradient reaches q or k" },
  { g: 2, m: 16, n: 3000, d: 16, dv: 16, qRange: 25, why: "scores up to ±400 (exp would overflow without the max), running max across blocks" },
  { g: 1, m: 16, n: 37, d: 16, dv: 32, qRange: 3, why: "batch 1, M = 16 with dv = 32 ≠ d, N not a multiple of 4 (one partial block)" },
  { g: 3, m: 16, n: 130, d: 32, dv: 16, qRange: 3, why: "d = 32 > dv, three blocks of 64, the last 2 pixels" },
  { g: 2, m: 16, n: 3, d: 16, dv: 16, qRange: 2, why: "fewer pixels than one step of 4" },
  { g: 2, m: 16, n: 1, d: 32, dv: 32, qRange: 2, why: "M = 16, a single pixel" },
  { g: 2, m: 16, n: 70, d: 24, dv: 24, qRange: 2, why: "M = 16 with d = 24 (not a multiple of 16: the general kernel)" },
  { g: 2, m: 15, n: 70, d: 16, dv: 16, qRange: 2, why: "M = 15 with d = 16 (the general kernel)" },
  { g: 2, m: 17, n: 70, d: 16, dv: 16, qRange: 2, why: "M = 17 with d = 16 (the general kernel)" },
];

/** The op's value and its gradients w.r.t. q, k, v for a seeded upstream weighting, through `op`. */
function valueAndGradients(c: Case, op: typeof softAggregate): tf.Tensor[] {
  return tf.tidy(() => {
    const q = t([c.g, c.m, c.d], 1, -c.qRange, c.qRange) as tf.Tensor3D;
    const k = t([c.g, c.n, c.d], 2) as tf.Tensor3D;
    const v = t([c.g, c.n, c.dv], 3, -2, 2) as tf.Tensor3D;
    return valueAndGradientsAt(q, k, v, op);
  });
}

/** The op's value at q, k, v and its gradients there for a seeded upstream weighting. */
function valueAndGradientsAt(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, op: typeof softAggregate): tf.Tensor[] {
  return tf.tidy(() => {
    const w = t([q.shape[0], q.shape[1], v.shape[2]], 4, 0.5, 1.5);
    const f = (a: tf.Tensor, b: tf.Tensor, e: tf.Tensor) => op(a as tf.Tensor3D, b as tf.Tensor3D, e as tf.Tensor3D);
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, e: tf.Tensor) => tf.sum(tf.mul(f(a, b, e), w)))([q, k, v]);
    return [f(q, k, v), ...grads];
  });
}

const NAMES = ["value", "dq", "dk", "dv"];
const maxAbs = (a: Float32Array) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

/** `op` given k and v as channels-last rows [B, N, heads·d] (layout.heads), moved there by a gather: a function of the groups still. */
const inRows = (op: typeof softAggregate, heads: number): typeof softAggregate => (q, k, v) =>
  op(q, groupsToRows(k, heads), groupsToRows(v, heads), { heads });

function assertCloseToReference(actual: Float32Array[], expected: Float32Array[], what: string): void {
  assert.equal(actual.length, 4);
  // fp32 sums over thousands of pixels in another order (the cpu backend sums in double):
  // each element within 1e-5 of the output's largest magnitude (at least 1, the inputs'
  // scale: an all-zero reference is met up to rounding), plus 1e-4 of its own. A wrong
  // kernel is off by O(1) of the largest.
  actual.forEach((values, i) => {
    const reference = expected[i]!;
    const { worst, at } = mismatch(values, reference, 1e-5 * Math.max(maxAbs(reference), 1), 1e-4);
    assert.ok(worst <= 1, `${what} ${NAMES[i]}: ${values[at]} vs cpu ${reference[at]} at ${at} (${worst.toFixed(1)}× the tolerance)`);
  });
}

describe("fused softAggregate: the native kernels equal the composition on cpu", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
  });

  for (const c of CASES) {
    it(`G=${c.g} M=${c.m} N=${c.n} d=${c.d} dv=${c.dv}: ${c.why}`, async () => {
      const expected = await computeOn("cpu", () => valueAndGradients(c, referenceSoftAggregate));
      const actual = await computeOn("native", () => valueAndGradients(c, softAggregate));
      assert.equal(actual.leaked, 0, "native leaked tensors");
      assertCloseToReference(actual.values, expected.values, "native");
    });
  }

  // k and v as channels-last rows [B, N, heads·d] holding the G = heads·B groups (layout.heads):
  // the same function of the groups as the composition on them, with gradients in the rows' layout.
  const HEADS_CASES: Array<Case & { heads: number }> = [
    { heads: 1, g: 2, m: 5, n: 37, d: 7, dv: 9, qRange: 2, why: "one head: rows and groups are the same memory" },
    { heads: 2, g: 4, m: 16, n: 256, d: 16, dv: 16, qRange: 3, why: "CLUE_nano's second stage" },
    { heads: 3, g: 6, m: 5, n: 37, d: 7, dv: 9, qRange: 2, why: "odd sizes, dv ≠ d" },
    { heads: 2, g: 4, m: 16, n: 1500, d: 8, dv: 8, qRange: 2, why: "two blocks of pixels: the second starts mid-row-stride" },
    { heads: 4, g: 4, m: 16, n: 64, d: 16, dv: 16, qRange: 3, why: "CLUE_nano's third stage, batch 1" },
    { heads: 8, g: 16, m: 16, n: 16, d: 16, dv: 16, qRange: 3, why: "CLUE_nano's fourth stage" },
    { heads: 2, g: 4, m: 16, n: 131, d: 32, dv: 32, qRange: 3, why: "d = 32 in rows 64 apart, three blocks of 64 and 3 pixels" },
  ];
  for (const c of HEADS_CASES) {
    it(`${c.heads} head(s) in channels-last rows, G=${c.g} M=${c.m} N=${c.n} d=${c.d} dv=${c.dv} (${c.why}): native and cpu vs the composition on groups`, async () => {
      const expected = await computeOn("cpu", () => valueAndGradients(c, referenceSoftAggregate));
      const native = await computeOn("native", () => valueAndGradients(c, inRows(softAggregate, c.heads)));
      const cpu = await computeOn("cpu", () => valueAndGradients(c, inRows(softAggregate, c.heads)));
      assert.equal(native.leaked + cpu.leaked, 0, "leaked tensors");
      assertCloseToReference(native.values, expected.values, "native");
      assertCloseToReference(cpu.values, expected.values, "cpu");
    });
  }

  it("channels-last rows on native run the kernels and no Transpose", async () => {
    await tf.setBackend("native");
    const [q, k, v] = [t([4, 16, 16], 1), t([2, 256, 32], 2), t([2, 256, 32], 3)] as tf.Tensor3D[];
    const profile = await tf.profile(() =>
      tf.dispose(tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        tf.sum(softAggregate(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, { heads: 2 })))([q!, k!, v!])));
    tf.dispose([q!, k!, v!]);
    const seen = profile.kernels.map((k) => k.name);
    assert.ok(seen.includes("ClueSoftAggregate") && seen.includes("ClueSoftAggregateGrad"), `kernels run: ${seen.join(", ")}`);
    assert.ok(!seen.includes("Transpose") && !seen.includes("BatchMatMul"), `kernels run: ${seen.join(", ")}`);
  });

  it("runs the kernel, not the composition, on native (no [G, M, N] scores are made)", async () => {
    await tf.setBackend("native");
    const c = CASES[0]!;
    const seen: string[] = [];
    const profile = await tf.profile(() => tf.dispose(valueAndGradients(c, softAggregate)));
    for (const k of profile.kernels) seen.push(k.name);
    assert.ok(seen.includes("ClueSoftAggregate") && seen.includes("ClueSoftAggregateGrad"), `kernels run: ${seen.join(", ")}`);
    assert.ok(!seen.includes("Softmax") && !seen.includes("BatchMatMul"), `kernels run: ${seen.join(", ")}`);
  });

  it("repeated training-style steps on variables leak no tensors", async () => {
    await tf.setBackend("native");
    const q = tf.variable(t([2, 4, 8], 10)), k = tf.variable(t([2, 50, 8], 11)), v = tf.variable(t([2, 50, 8], 12));
    const settle = () => {
      const { value, grads } = tf.variableGrads(() =>
        tf.sum(tf.square(softAggregate(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D))) as tf.Scalar,
      );
      tf.dispose([value, ...Object.values(grads)]);
    };
    settle();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) settle();
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([q, k, v]);
  });

  it("M = 16: a max that grows in every block of 64 pixels (each rescales the sums before it), and one that never does", async () => {
    // Pixels along a ramp in one direction u: centers aligned with u score highest on the last
    // pixel (the running max rises block after block, up to ~70), those opposed on the first.
    const [g, m, n, d] = [2, 16, 300, 16];
    const inputs = () => {
      const u = t([1, 1, d], 5);
      const k = tf.add(tf.mul(tf.mul(tf.reshape(tf.linspace(0, 1, n), [1, n, 1]), u), 6), tf.mul(t([g, n, d], 6), 0.1)) as tf.Tensor3D;
      const scale = tf.tensor(Array.from({ length: m }, (_, i) => (i % 4 === 3 ? -1 : 1) * (2 + i / 4)), [1, m, 1]);
      const q = tf.add(tf.mul(scale, u), tf.mul(t([g, m, d], 7), 0.1)) as tf.Tensor3D;
      return [q, k, t([g, n, d], 3, -2, 2) as tf.Tensor3D] as const;
    };
    const expected = await computeOn("cpu", () => tf.tidy(() => valueAndGradientsAt(...inputs(), referenceSoftAggregate)));
    const actual = await computeOn("native", () => tf.tidy(() => valueAndGradientsAt(...inputs(), softAggregate)));
    assert.equal(actual.leaked, 0, "native leaked tensors");
    assertCloseToReference(actual.values, expected.values, "native");
  });

  it("the addon's general kernel, forced by its last argument (the benchmark's peer), agrees with the register-blocked one", () => {
    const load = loadAddon();
    assert.ok("addon" in load, "the native addon loads");
    type Call = (...a: Array<Float32Array | number>) => void;
    const addon = load.addon as unknown as { softAggregate: Call; softAggregateGrad: Call };
    const [b, heads, m, n, d] = [2, 2, 16, 70, 16], g = b * heads;
    const q = seeded(g * m * d, 1, -3, 3), k = seeded(b * n * heads * d, 2), v = seeded(b * n * heads * d, 3), dy = seeded(g * m * d, 4);
    const results = [0, 1].map((general) => {
      const r = [g * m * d, g * 2 * m, g * m * d, k.length, v.length].map((size) => new Float32Array(size));
      const [out, stats, dq, dk, dv] = r as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
      addon.softAggregate(out, stats, q, k, v, g, m, n, d, d, heads, general);
      addon.softAggregateGrad(dq, dk, dv, dy, q, k, v, out, stats, g, m, n, d, d, heads, general);
      return r;
    });
    // Another kernel ran: sums in another order round differently somewhere.
    for (const [i, what] of [[0, "softAggregate"], [2, "softAggregateGrad"]] as const) {
      assert.ok(results[0]![i]!.some((x, j) => x !== results[1]![i]![j]), `${what}'s last argument selects the general kernel`);
    }
    results[0]!.forEach((blocked, i) => {
      const general = results[1]![i]!;
      const { worst, at } = mismatch(blocked, general, 1e-5 * Math.max(maxAbs(general), 1), 1e-4);
      assert.ok(worst <= 1, `output ${i}: ${blocked[at]} (blocked) vs ${general[at]} (general) at ${at}`);
    });
  });

  it("no pixels (N = 0) gives zeros, as the composition does", async () => {
    for (const backend of ["cpu", "native"] as const) {
      const { values, leaked } = await computeOn(backend, () => [tf.tidy(() => softAggregate(tf.ones([2, 3, 4]), tf.zeros([2, 0, 4]), tf.zeros([2, 0, 5])))]);
      assert.equal(leaked, 0);
      assert.deepEqual(Array.from(values[0]!), new Array<number>(2 * 3 * 5).fill(0), backend);
    }
  });
});

describe("fused softAggregate: bad inputs", () => {
  for (const backend of ["cpu", "native"] as const) {
    it(`${backend}: ranks, shapes and dtypes that do not fit are clear errors`, async () => {
      await loadBackend(backend);
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const q = tf.zeros([2, 3, 4]) as tf.Tensor3D, k = tf.zeros([2, 5, 4]) as tf.Tensor3D, v = tf.zeros([2, 5, 6]) as tf.Tensor3D;
      const flat = tf.zeros([3, 4]) as unknown as tf.Tensor3D, narrowK = tf.zeros([2, 5, 3]) as tf.Tensor3D;
      const oneGroup = tf.zeros([1, 5, 4]) as tf.Tensor3D, shortV = tf.zeros([2, 4, 6]) as tf.Tensor3D, intV = tf.zeros([2, 5, 6], "int32") as tf.Tensor3D;
      const narrowQ = tf.zeros([2, 3, 2]) as tf.Tensor3D, oddV = tf.zeros([1, 5, 3]) as tf.Tensor3D;
      const cases: Array<[() => unknown, RegExp]> = [
        [() => softAggregate(flat, k, v), /q \[3,4\], k \[2,5,4\] and v \[2,5,6\] must all be rank 3/],
        [() => softAggregate(q, narrowK, v), /k \[2,5,3\] must be \[2, N, 4\]/],
        [() => softAggregate(q, oneGroup, v), /k \[1,5,4\] must be \[2, N, 4\]/],
        [() => softAggregate(q, k, shortV), /v \[2,4,6\] must be \[2, 5, dv\]: one value per key/],
        [() => softAggregate(q, k, intV), /must be float32 \(got float32, float32, int32\); cast them first/],
        [() => softAggregate(q, k, v, { heads: 2 }), /q \[2,3,4\] must be \[2·B, M, d\] and k \[2,5,4\] \[B, N, 2·d\] for 2 heads/],
        [() => softAggregate(q, oneGroup, shortV, { heads: 2 }), /q \[2,3,4\] must be \[2·B, M, d\] and k \[1,5,4\] \[B, N, 2·d\]/],
        [() => softAggregate(narrowQ, oneGroup, oddV, { heads: 2 }),
          /v \[1,5,3\] must be \[1, 5, 2·dv\]: one value per key of k \[1,5,4\], in 2 heads/],
        [() => softAggregate(q, k, v, { heads: 0 }), /heads must be a whole number ≥ 1, got 0/],
      ];
      for (const [f, message] of cases) assert.throws(f, message);
      tf.dispose([q, k, v, flat, narrowK, oneGroup, shortV, intV, narrowQ, oddV]);
      assert.equal(tf.memory().numTensors, before);
    });
  }
});
