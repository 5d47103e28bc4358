import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { tf } from "../../lib/engine/index.js";
import { gatedMix, referenceGatedMix, referenceTemperedL2Normalize, temperedL2Normalize } from "../../lib/engine/fused/index.js";
import { loadAddon } from "../../lib/engine/native/addon.js";
import { computeOn, loadBackend, mismatch, seeded } from "../helpers/backends.js";
import { groupsToRows } from "./heads-layout.js";

const t = (shape: number[], seed: number, lo = -1, hi = 1) => tf.tensor(seeded(shape.reduce((a, b) => a * b, 1), seed, lo, hi), shape);
const maxAbs = (a: Float32Array) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

/** Each array within 1e-5 of its largest magnitude (at least 1) plus 1e-4 of its own: fp32 sums in another order. */
function assertClose(actual: Float32Array[], expected: Float32Array[], names: string[], what: string): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((values, i) => {
    const reference = expected[i]!;
    const { worst, at } = mismatch(values, reference, 1e-5 * Math.max(maxAbs(reference), 1), 1e-4);
    assert.ok(worst <= 1, `${what} ${names[i]}: ${values[at]} vs ${reference[at]} at ${at} (${worst.toFixed(1)}× the tolerance)`);
  });
}

interface TemperedCase {
  shape: number[];
  /** log temperature and its floor */
  alpha: number;
  floor: number;
  zeroRow?: boolean;
  why: string;
}

const TEMPERED: TemperedCase[] = [
  { shape: [128, 16, 16], alpha: Math.log(0.7), floor: Math.log(0.1), why: "CLUE_nano's second stage, learnable temperature above its floor" },
  { shape: [3, 5, 7], alpha: -0.3, floor: -2, why: "odd sizes" },
  { shape: [4, 9], alpha: -3, floor: Math.log(0.1), why: "rank 2, temperature below the floor: no gradient to alpha" },
  { shape: [2, 3, 8], alpha: -1.5, floor: -1.5, why: "temperature at the floor: the gradient goes to alpha (tf.maximum's tie)" },
  { shape: [2, 4, 6], alpha: 0.2, floor: -1, zeroRow: true, why: "an all-zero row (the ε branch)" },
];

function temperedValueAndGradients(c: TemperedCase, op: typeof temperedL2Normalize): tf.Tensor[] {
  return tf.tidy(() => {
    let x = t(c.shape, 1, -2, 2);
    if (c.zeroRow) x = tf.mul(x, tf.concat([tf.zeros([1, ...c.shape.slice(1)]), tf.ones([c.shape[0]! - 1, ...c.shape.slice(1)])]));
    const alpha = tf.scalar(c.alpha);
    const w = t(c.shape, 2, 0.5, 1.5);
    const f = (a: tf.Tensor, b: tf.Tensor) => op(a, b as tf.Scalar, c.floor);
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), w)))([x, alpha]);
    return [f(x, alpha), ...grads];
  });
}

interface MixCase {
  heads: number;
  batch: number;
  m: number;
  d: number;
  hidden: number;
  why: string;
}

const MIX: MixCase[] = [
  { heads: 1, batch: 64, m: 16, d: 16, hidden: 8, why: "CLUE_nano's first stage: 1024 rows, four tasks of 256" },
  { heads: 8, batch: 8, m: 16, d: 16, hidden: 8, why: "eight heads of 128 rows (one partial task each)" },
  { heads: 2, batch: 3, m: 5, d: 7, hidden: 3, why: "odd sizes" },
  { heads: 2, batch: 40, m: 9, d: 4, hidden: 2, why: "360 rows per head: a task of 256 and one of 104" },
  { heads: 3, batch: 2, m: 4, d: 32, hidden: 16, why: "d = 32" },
];

function mixInputs(c: MixCase): tf.Tensor[] {
  const g = c.heads * c.batch;
  return [
    t([g, c.m, c.d], 1, -2, 2), t([g, c.m, c.d], 2, -2, 2),
    t([c.heads, 2 * c.d, c.hidden], 3, -0.6, 0.6), t([c.heads, 1, c.hidden], 4, -0.5, 0.5),
    t([c.heads, c.hidden, 1], 5, -1.5, 1.5), t([c.heads, 1, 1], 6, -0.5, 0.5),
  ];
}

function mixValueAndGradients(c: MixCase, op: typeof gatedMix): tf.Tensor[] {
  return tf.tidy(() => {
    const xs = mixInputs(c);
    const w = t(xs[0]!.shape, 7, 0.5, 1.5);
    const f = (...v: tf.Tensor[]) => op(v[0] as tf.Tensor3D, v[1] as tf.Tensor3D, { w1: v[2] as tf.Tensor3D, b1: v[3] as tf.Tensor3D, w2: v[4] as tf.Tensor3D, b2: v[5] as tf.Tensor3D });
    const grads = tf.grads((...v: tf.Tensor[]) => tf.sum(tf.mul(f(...v), w)))(xs);
    return [f(...xs), ...grads];
  });
}

const MIX_NAMES = ["value", "da", "dp", "dw1", "db1", "dw2", "db2"];

describe("fused cluster centers: the native kernels equal the compositions on cpu", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
  });

  for (const c of TEMPERED) {
    it(`temperedL2Normalize ${JSON.stringify(c.shape)}: ${c.why}`, async () => {
      // At a zero row the cpu composition's gradient is NaN (√'s at 0); the native l2Normalize
      // kernel's is dy/ε, as PyTorch's: there the reference is the composition on native.
      const expected = await computeOn(c.zeroRow ? "native" : "cpu", () => temperedValueAndGradients(c, referenceTemperedL2Normalize));
      const actual = await computeOn("native", () => temperedValueAndGradients(c, temperedL2Normalize));
      assert.equal(actual.leaked, 0, "leaked tensors");
      assertClose(actual.values, expected.values, ["value", "dx", "dalpha"], "native");
      if (!c.zeroRow) {
        const cpuOp = await computeOn("cpu", () => temperedValueAndGradients(c, temperedL2Normalize));
        assertClose(cpuOp.values, expected.values, ["value", "dx", "dalpha"], "cpu");
      }
      if (c.alpha < c.floor) assert.equal(actual.values[2]![0], 0, "no gradient to alpha below the floor");
      else assert.notEqual(actual.values[2]![0], 0, "alpha gets a gradient at or above the floor");
    });
  }

  for (const c of MIX) {
    it(`gatedMix ${c.heads} head(s), G=${c.heads * c.batch} M=${c.m} d=${c.d} hidden=${c.hidden}: ${c.why}`, async () => {
      const expected = await computeOn("cpu", () => mixValueAndGradients(c, referenceGatedMix));
      const actual = await computeOn("native", () => mixValueAndGradients(c, gatedMix));
      assert.equal(actual.leaked, 0, "native leaked tensors");
      assertClose(actual.values, expected.values, MIX_NAMES, "native");
    });
  }

  // Pooled operands as channels-last rows [B, M, heads·d] (layout.heads): the same function of the
  // groups as the composition on them, gradients back in rows. Native and cpu (the op's own
  // reference path) against the plain composition on groups.
  for (const c of [MIX[1]!, MIX[2]!, MIX[3]!, MIX[4]!]) {
    it(`gatedMix with p in channels-last rows, ${c.heads} heads, G=${c.heads * c.batch} M=${c.m} d=${c.d}`, async () => {
      const inRows: typeof gatedMix = (a, p, w) => gatedMix(a, groupsToRows(p, c.heads), w, { heads: c.heads });
      const expected = await computeOn("cpu", () => mixValueAndGradients(c, referenceGatedMix));
      const native = await computeOn("native", () => mixValueAndGradients(c, inRows));
      const cpu = await computeOn("cpu", () => mixValueAndGradients(c, inRows));
      assert.equal(native.leaked + cpu.leaked, 0, "leaked tensors");
      assertClose(native.values, expected.values, MIX_NAMES, "native");
      assertClose(cpu.values, expected.values, MIX_NAMES, "cpu");
    });
  }
  for (const [heads, shape] of [[2, [128, 16, 16]], [3, [6, 5, 7]], [8, [16, 3, 4]]] as Array<[number, number[]]>) {
    it(`temperedL2Normalize from channels-last rows to groups, ${heads} heads, groups ${JSON.stringify(shape)}`, async () => {
      const c: TemperedCase = { shape, alpha: -0.4, floor: -2, why: "" };
      const inRows = ((x: tf.Tensor, t: tf.Scalar, f: number) => temperedL2Normalize(groupsToRows(x, heads), t, f, { heads })) as typeof temperedL2Normalize;
      const expected = await computeOn("cpu", () => temperedValueAndGradients(c, referenceTemperedL2Normalize));
      const native = await computeOn("native", () => temperedValueAndGradients(c, inRows));
      const cpu = await computeOn("cpu", () => temperedValueAndGradients(c, inRows));
      assert.equal(native.leaked + cpu.leaked, 0, "leaked tensors");
      assertClose(native.values, expected.values, ["value", "dx", "dalpha"], "native");
      assertClose(cpu.values, expected.values, ["value", "dx", "dalpha"], "cpu");
    });
  }

  it("on native, forward and backward are one kernel each (no BatchMatMul, Concat, Sigmoid, scalar ops)", async () => {
    await tf.setBackend("native");
    const profile = await tf.profile(() => {
      tf.dispose(mixValueAndGradients(MIX[2]!, gatedMix));
      tf.dispose(temperedValueAndGradients(TEMPERED[1]!, temperedL2Normalize));
    });
    const seen = profile.kernels.map((k) => k.name);
    for (const k of ["ClueGatedMix", "ClueGatedMixGrad", "ClueTemperedNormalize", "ClueTemperedNormalizeGrad"]) assert.ok(seen.includes(k), `kernels run: ${seen.join(", ")}`);
    for (const k of ["BatchMatMul", "Concat", "Sigmoid", "Exp", "Maximum", "ClueL2Normalize"]) assert.ok(!seen.includes(k), `${k} ran: ${seen.join(", ")}`);
  });

  it("the kernels' results do not depend on the thread count (fixed row cuts, partials summed in order)", () => {
    const load = loadAddon();
    assert.ok("addon" in load, "the native addon loads");
    const addon = load.addon;
    const [heads, rows, d, k] = [3, 700, 16, 8];
    const size = heads * rows * d;
    const [a, p, dy] = [seeded(size, 1, -2, 2), seeded(size, 2, -2, 2), seeded(size, 3)];
    const [w1, b1, w2, b2] = [seeded(heads * 2 * d * k, 4, -0.6, 0.6), seeded(heads * k, 5), seeded(heads * k, 6, -1.5, 1.5), seeded(heads, 7)];
    const alpha = Float32Array.of(-0.4);
    const threads = addon.info().threads;
    const run = (n: number) => {
      addon.setThreads(n);
      const outs = [size, size, size, w1.length, b1.length, w2.length, b2.length, size, 1].map((len) => new Float32Array(len).fill(NaN));
      const [out, da, dp, dw1, db1, dw2, db2, dx, dalpha] = outs as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
      // p and x as channels-last rows: the strided reads and writes of every task, too.
      addon.gatedMix(out, a, p, w1, b1, w2, b2, heads, rows, d, k, 1);
      addon.gatedMixGrad(da, dp, dw1, db1, dw2, db2, dy, a, p, w1, b1, w2, b2, heads, rows, d, k, 1);
      addon.temperedNormalizeGrad(dx, dalpha, dy, a, alpha, heads * rows, d, -2, heads);
      return outs;
    };
    try {
      const one = run(1);
      const two = run(2);
      one.forEach((values, i) => {
        assert.ok(values.every(Number.isFinite), `output ${i} is written`);
        assert.deepEqual(two[i], values, `output ${i} differs between 1 and 2 threads`);
      });
    } finally {
      addon.setThreads(threads);
    }
  });

  it("bad operands get errors that say what is wrong", () => {
    tf.tidy(() => {
      const [a, p, w1, b1, w2, b2] = mixInputs(MIX[2]!) as tf.Tensor3D[];
      assert.throws(() => gatedMix(a!, tf.zeros([1, 2, 3]) as tf.Tensor3D, { w1: w1!, b1: b1!, w2: w2!, b2: b2! }), /a \[6,5,7\] and p \[1,2,3\] must both be/);
      assert.throws(() => gatedMix(a!, p!, { w1: tf.zeros([4, 14, 3]) as tf.Tensor3D, b1: b1!, w2: w2!, b2: b2! }), /heads dividing the 6 groups/);
      assert.throws(() => gatedMix(a!, p!, { w1: w1!, b1: b1!, w2: tf.zeros([2, 3]) as unknown as tf.Tensor3D, b2: b2! }), /w2 \[2,3\] must be \[2,3,1\]/);
      assert.throws(() => temperedL2Normalize(a!, tf.zeros([1]) as unknown as tf.Scalar, 0), /logTemperature must be a scalar/);
      assert.throws(() => temperedL2Normalize(a!, tf.scalar(0), NaN), /minLogTemperature must be a finite number/);
      assert.throws(() => temperedL2Normalize(tf.zeros([2, 3, 7]), tf.scalar(0), 0, { heads: 2 }), /must be channels-last rows \[B, M, 2·d\]/);
      assert.throws(() => gatedMix(a!, p!, { w1: w1!, b1: b1!, w2: w2!, b2: b2! }, { heads: 3 }), /layout.heads 3 must be the weights' heads/);
      assert.throws(() => gatedMix(a!, p!, { w1: w1!, b1: b1!, w2: w2!, b2: b2! }, { heads: 2 }), /p \[6,5,7\] must be channels-last rows \[3, 5, 14\]/);
    });
  });
});
