import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { tf } from "../../lib/engine/index.js";
import { clusterAssign, clusterDispatch, referenceClusterAssign, referenceClusterDispatch } from "../../lib/engine/fused/index.js";
import { computeOn, loadBackend, mismatch, seeded } from "../helpers/backends.js";
import { groupsToRows, rowsToGroups } from "./heads-layout.js";

type AssignOp = typeof clusterAssign;
type DispatchOp = typeof clusterDispatch;
const FUSED: [AssignOp, DispatchOp] = [clusterAssign, clusterDispatch];
const REFERENCE: [AssignOp, DispatchOp] = [referenceClusterAssign, referenceClusterDispatch];

/** Rows of unit length (normalised here, in float64, so every backend sees the same float32 inputs). */
function unitRows(g: number, rows: number, d: number, seed: number): tf.Tensor3D {
  const v = seeded(g * rows * d, seed);
  for (let r = 0; r < g * rows; r++) {
    let s = 0;
    for (let e = 0; e < d; e++) s += v[r * d + e]! ** 2;
    for (let e = 0; e < d; e++) v[r * d + e] = v[r * d + e]! / Math.sqrt(s);
  }
  return tf.tensor3d(v, [g, rows, d]);
}

interface Case {
  g: number;
  n: number;
  m: number;
  d: number;
  alpha: number;
  beta: number;
  /** Center j+1 repeats center j for these j: equal cosines, the first must win. */
  repeats?: number[];
}

// Odd sizes, N not a multiple of 8, M = 1, α < 0 (the sigmoid's argmax is the cosine's argmin),
// several blocks of pixels per group and many groups (spread over the pool), repeated centers.
const CASES: Case[] = [
  { g: 3, n: 37, m: 5, d: 8, alpha: 1.3, beta: 0.2 },
  { g: 2, n: 301, m: 16, d: 16, alpha: 1, beta: 0 },
  { g: 64, n: 20, m: 16, d: 16, alpha: 2.5, beta: -0.7 },
  { g: 4, n: 13, m: 1, d: 6, alpha: 0.8, beta: 0.1 },
  { g: 3, n: 29, m: 7, d: 5, alpha: -1.7, beta: 0.3 },
  { g: 2, n: 50, m: 9, d: 4, alpha: 1.1, beta: 0, repeats: [0, 3, 4, 7] },
];

/**
 * The ops with the keys and the dispatched rows channels-last [B, N, heads·d] (layout.heads),
 * moved there and back by gathers: functions of the groups still, comparable with the plain ops.
 */
const inRows = ([assign, dispatch]: [AssignOp, DispatchOp], heads: number): [AssignOp, DispatchOp] => [
  (keys, centers, alpha, beta) => assign(groupsToRows(keys, heads), centers, alpha, beta, { heads }),
  (index, score, centers, weights) => rowsToGroups(dispatch(index, score, centers, weights, { heads }), heads),
];

// G = heads·B: one head (the same memory), two heads over several blocks of 128 pixels, three
// heads with α < 0, one center.
const HEADS_CASES: Array<Case & { heads: number }> = [
  { heads: 1, g: 3, n: 37, m: 5, d: 8, alpha: 1.3, beta: 0.2 },
  { heads: 2, g: 4, n: 301, m: 16, d: 16, alpha: 1, beta: 0 },
  { heads: 3, g: 6, n: 29, m: 7, d: 5, alpha: -1.7, beta: 0.3 },
  { heads: 2, g: 4, n: 13, m: 1, d: 6, alpha: 0.8, beta: 0.1 },
];

const describeCase = (c: Case) =>
  `G=${c.g} N=${c.n} M=${c.m} d=${c.d} α=${c.alpha} β=${c.beta}${c.repeats ? ", repeated centers" : ""}`;

function inputs(c: Case): tf.Tensor[] {
  const keys = unitRows(c.g, c.n, c.d, 1);
  let centers = unitRows(c.g, c.m, c.d, 2);
  if (c.repeats) {
    const rows = tf.unstack(centers, 1);
    for (const j of c.repeats) rows[j + 1] = rows[j]!;
    centers = tf.stack(rows, 1) as tf.Tensor3D;
  }
  return [keys, centers, tf.tensor1d([c.alpha]), tf.tensor1d([c.beta]), tf.tensor(seeded(c.g * c.m * 3, 3), [c.g, c.m, 3]),
    tf.tensor(seeded(c.g * c.m * 3, 4), [c.g, c.m, 3])];
}

/**
 * The assignment (index, score) and, through two dispatches of it (a stage's two blocks share
 * one), the gradients of Σ w·out₁ + Σ w·out₂ + Σ w·score w.r.t. keys, centers, α, β and both
 * dispatched tensors: the outputs then the gradients.
 */
function valueAndGradients(c: Case, [assign, dispatch]: [AssignOp, DispatchOp], dense = true): tf.Tensor[] {
  return tf.tidy(() => {
    const xs = inputs(c);
    const loss = (keys: tf.Tensor, centers: tf.Tensor, alpha: tf.Tensor, beta: tf.Tensor, v1: tf.Tensor, v2: tf.Tensor) => {
      const a = assign(keys as tf.Tensor3D, centers as tf.Tensor3D, alpha, beta);
      // As the mixer calls it: with the dense matrix where the composition made one (dense = false: the one-hot path)
      const weights = dense ? a.weights : undefined;
      const out1 = dispatch(a.index, a.score, v1 as tf.Tensor3D, weights), out2 = dispatch(a.index, a.score, v2 as tf.Tensor3D, weights);
      const w = (t: tf.Tensor, seed: number) => tf.sum(tf.mul(t, tf.tensor(seeded(t.size, seed, 0.5, 1.5), t.shape)));
      return { a, out1, out2, loss: tf.addN([w(out1, 5), w(out2, 6), w(a.score, 7)]) };
    };
    const { a, out1, out2 } = loss(...(xs as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]));
    const grads = tf.grads((...ys: tf.Tensor[]) => loss(...(ys as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor])).loss)(xs);
    return [tf.cast(a.index, "float32"), a.score, out1, out2, ...grads];
  });
}

const NAMES = ["index", "score", "dispatch 1", "dispatch 2", "dkeys", "dcenters", "dα", "dβ", "dv1", "dv2"];

function assertClose(actual: Float32Array[], expected: Float32Array[], what: string): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((values, k) => {
    // The winners are the same; the values differ by the summation order of the cosines (native
    // GEMM vs cpu's float64 sums) and of the long sums (dα, dβ, the centers' gradients).
    const exact = NAMES[k] === "index";
    const { worst, at } = mismatch(values, expected[k]!, exact ? 0 : 1e-6, exact ? 0 : 1e-5);
    assert.ok(exact ? at === -1 : worst <= 1, `${what} ${NAMES[k]}: ${values[at]} vs ${expected[k]![at]} at ${at} (${worst.toFixed(1)}× the tolerance)`);
  });
}

describe("fused clusterAssign and clusterDispatch: the native kernels equal the reference composition", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
  });

  for (const c of CASES) {
    it(`${describeCase(c)}: native vs cpu's composition`, async () => {
      const expected = await computeOn("cpu", () => valueAndGradients(c, REFERENCE));
      const actual = await computeOn("native", () => valueAndGradients(c, FUSED));
      assert.equal(actual.leaked, 0, "native leaked tensors");
      assertClose(actual.values, expected.values, describeCase(c));
    });
  }

  for (const c of HEADS_CASES) {
    it(`${c.heads} head(s) in channels-last rows, ${describeCase(c)}: native and cpu vs the composition on groups`, async () => {
      const expected = await computeOn("cpu", () => valueAndGradients(c, REFERENCE));
      const native = await computeOn("native", () => valueAndGradients(c, inRows(FUSED, c.heads)));
      const cpuDense = await computeOn("cpu", () => valueAndGradients(c, inRows(FUSED, c.heads)));
      const cpuOneHot = await computeOn("cpu", () => valueAndGradients(c, inRows(FUSED, c.heads), false));
      assert.equal(native.leaked + cpuDense.leaked + cpuOneHot.leaked, 0, "leaked tensors");
      assertClose(native.values, expected.values, `native, ${c.heads} heads`);
      assertClose(cpuDense.values, expected.values, `cpu, ${c.heads} heads`);
      assertClose(cpuOneHot.values, expected.values, `cpu one-hot path, ${c.heads} heads`);
    });
  }

  it("channels-last rows on native run the kernels and no Transpose", async () => {
    await tf.setBackend("native");
    const [keys, centers, v] = [unitRows(2, 301, 32, 1), unitRows(4, 16, 16, 2), unitRows(4, 16, 16, 3)];
    const [alpha, beta] = [tf.scalar(1), tf.scalar(0)];
    const profile = await tf.profile(() =>
      tf.dispose(tf.grads((k: tf.Tensor, c: tf.Tensor, x: tf.Tensor) => {
        const a = clusterAssign(k as tf.Tensor3D, c as tf.Tensor3D, alpha, beta, { heads: 2 });
        return tf.add(tf.sum(clusterDispatch(a.index, a.score, x as tf.Tensor3D, undefined, { heads: 2 })), tf.sum(a.score));
      })([keys, centers, v])));
    tf.dispose([keys, centers, v, alpha, beta]);
    const seen = profile.kernels.map((k) => k.name);
    for (const name of ["ClueClusterAssign", "ClueClusterAssignGrad", "ClueClusterDispatch", "ClueClusterDispatchGrad"]) {
      assert.ok(seen.includes(name), `${name} not among the kernels run: ${seen.join(", ")}`);
    }
    assert.ok(!seen.includes("Transpose") && !seen.includes("BatchMatMul"), `kernels run: ${seen.join(", ")}`);
  });

  it("on native, α and β of shape [1] (the blocks' parameters) get their gradients with no Reshape", async () => {
    await tf.setBackend("native");
    const [keys, centers] = [unitRows(2, 37, 8, 4), unitRows(2, 5, 8, 5)];
    const params = [tf.tensor1d([1.5]), tf.tensor1d([-0.25])];
    const before = tf.memory().numTensors;
    let grads: tf.Tensor[] = [];
    const profile = await tf.profile(() => {
      grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(clusterAssign(keys, centers, a as tf.Tensor1D, b as tf.Tensor1D).score))(params);
    });
    const seen = profile.kernels.map((k) => k.name);
    // The one Reshape is tf.sum's gradient's.
    assert.ok(seen.includes("ClueClusterAssignGrad"), `kernels run: ${seen.join(", ")}`);
    assert.equal(seen.filter((k) => k === "Reshape").length, 1, `kernels run: ${seen.join(", ")}`);
    assert.deepEqual(grads.map((g) => g.shape), [[1], [1]]);
    const reference = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(referenceClusterAssign(keys, centers, a as tf.Tensor1D, b as tf.Tensor1D).score))(params);
    grads.forEach((g, i) => {
      const [got, want] = [g.dataSync()[0]!, reference[i]!.dataSync()[0]!];
      assert.ok(Math.abs(got - want) <= 1e-4 * Math.abs(want), `${i ? "dβ" : "dα"} ${got} vs composition ${want}`);
    });
    tf.dispose([...grads, ...reference]);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([...params, keys, centers]);
  });

  it("the composition dispatches alike with the dense matrix it made and with the one-hot of the index", async () => {
    for (const c of [CASES[0]!, CASES[3]!]) {
      const dense = await computeOn("cpu", () => valueAndGradients(c, REFERENCE, true));
      const oneHot = await computeOn("cpu", () => valueAndGradients(c, REFERENCE, false));
      assert.equal(dense.leaked + oneHot.leaked, 0);
      assertClose(oneHot.values, dense.values, `${describeCase(c)}, one-hot path`);
    }
  });

  it("α = 40: sigmoids saturate to 1 and tie where the cosines differ; the first of them wins, as the composition on native decides", async () => {
    // The composition's argmax sees the rounded sigmoids (here several exactly 1), not β + α·cos:
    // compared on one backend, whose sigmoid rounds the same way.
    const c: Case = { g: 4, n: 200, m: 16, d: 8, alpha: 40, beta: 0 };
    const expected = await computeOn("native", () => valueAndGradients(c, REFERENCE));
    const actual = await computeOn("native", () => valueAndGradients(c, FUSED));
    assert.equal(actual.leaked, 0);
    assertClose(actual.values, expected.values, "α = 40");
    const [index, score] = await computeOn("native", () => tf.tidy(() => {
      const [keys, centers] = inputs(c);
      const plain = tf.argMax(tf.matMul(keys!, centers!, false, true), 2);
      const a = clusterAssign(keys as tf.Tensor3D, centers as tf.Tensor3D, tf.scalar(40), tf.scalar(0));
      return [tf.cast(tf.notEqual(a.index, plain), "float32"), a.score];
    })).then((r) => r.values);
    assert.ok(index!.some((v) => v === 1), "some winner differs from the cosine's argmax (the case tests ties)");
    assert.ok(score!.filter((v) => v === 1).length > 100);
  });

  it("hand-worked values: ties to the lowest index, α < 0 picks the least similar center, M = 1", async () => {
    await tf.setBackend("native");
    const before = tf.memory().numTensors;
    const run = (alpha: number, c: number[][]) => tf.tidy(() => {
      const keys = tf.tensor3d([[[1, 0], [0, 1], [0.6, 0.8]]]); // [1, N=3, d=2]
      const a = clusterAssign(keys, tf.tensor3d([c]), tf.scalar(alpha), tf.scalar(0.5));
      return { index: Array.from(a.index.dataSync()), score: a.score.dataSync() as Float32Array };
    });
    const sig = (z: number) => 1 / (1 + Math.exp(-z));
    const close = (a: Float32Array, b: number[]) => assert.ok(mismatch(a, Float32Array.from(b), 1e-7, 1e-6).worst <= 1, `${a} vs ${b}`);
    // cosines: pixel 0 [0, 1, 0, −1], pixel 1 [1, 0, 1, 0], pixel 2 [0.8, 0.6, 0.8, −0.6]; centers 0 and 2 are equal
    const centers = [[0, 1], [1, 0], [0, 1], [-1, 0]];
    const plus = run(2, centers);
    assert.deepEqual(plus.index, [1, 0, 0]);
    close(plus.score, [sig(2.5), sig(2.5), sig(2.1)]);
    const minus = run(-2, centers);
    assert.deepEqual(minus.index, [3, 1, 3]);
    close(minus.score, [sig(2.5), sig(0.5), sig(1.7)]);
    const single = run(1, [[0, 1]]);
    assert.deepEqual(single.index, [0, 0, 0]);
    close(single.score, [sig(0.5), sig(1.5), sig(1.3)]);
    const out = tf.tidy(() =>
      Array.from(clusterDispatch(tf.tensor2d([[1, 0, 1]], undefined, "int32"), tf.tensor2d([[0.5, 1, 0.25]]), tf.tensor3d([[[10, 20], [30, 40]]])).dataSync()));
    assert.deepEqual(out, [15, 20, 10, 20, 7.5, 10]);
    assert.equal(tf.memory().numTensors, before);
  });

  it("repeated training-style steps on variables leak no tensors", async () => {
    await tf.setBackend("native");
    const [keys, centers, alpha, beta, v1] = inputs(CASES[0]!).map((x) => tf.variable(x));
    const settle = () => {
      const { value, grads } = tf.variableGrads(() => {
        const a = clusterAssign(keys as tf.Tensor3D, centers as tf.Tensor3D, alpha!, beta!);
        return tf.sum(tf.add(clusterDispatch(a.index, a.score, v1 as tf.Tensor3D), tf.expandDims(a.score, 2))) as tf.Scalar;
      });
      assert.equal(Object.keys(grads).length, 5);
      tf.dispose([value, ...Object.values(grads)]);
    };
    settle();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) settle();
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([keys!, centers!, alpha!, beta!, v1!]);
  });
});

describe("fused clusterAssign and clusterDispatch: bad inputs", () => {
  for (const backend of ["cpu", "native"] as const) {
    it(`${backend}: shape, dtype and index mismatches are clear errors`, async () => {
      await loadBackend(backend);
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const keys = tf.zeros([2, 5, 4]) as tf.Tensor3D, centers = tf.zeros([2, 3, 4]) as tf.Tensor3D, wide = tf.zeros([2, 3, 6]) as tf.Tensor3D;
      const none = tf.zeros([2, 0, 4]) as tf.Tensor3D, one = tf.ones([1]), two = tf.ones([2]), intOne = tf.ones([1], "int32");
      const index = tf.zeros([2, 5], "int32") as tf.Tensor2D, score = tf.ones([2, 5]) as tf.Tensor2D, floatIndex = tf.zeros([2, 5]) as tf.Tensor2D;
      const short = tf.ones([2, 4]) as tf.Tensor2D, outside = tf.fill([2, 5], 3, "int32") as tf.Tensor2D;
      const cases: Array<[() => unknown, RegExp]> = [
        [() => clusterAssign(keys, wide, one, one), /keys \[2,5,4\] and centers \[2,3,6\] must be \[G, N, d\] and \[G, M, d\]/],
        [() => clusterAssign(keys, none, one, one), /no center to assign to \(M = 0\)/],
        [() => clusterAssign(keys, centers, two, one), /alpha \[2\] and beta \[1\] must hold one number each/],
        [() => clusterAssign(keys, centers, one, intOne), /must be float32 \(got float32, float32, float32, int32\)/],
        [() => clusterDispatch(index, short, centers), /index \[2,5\], score \[2,4\] and centers \[2,3,4\] must be/],
        [() => clusterDispatch(floatIndex, score, centers), /index must be int32, got float32/],
        [() => clusterDispatch(index, score, centers, wide), /weights \[2,3,6\] must be \[G, N, M\] = \[2,5,3\]/],
        [() => clusterAssign(keys, centers, one, one, { heads: 2 }), /keys \[2,5,4\] and centers \[2,3,4\] must be \[B, N, 2·d\] and \[2·B, M, d\] for 2 heads/],
        [() => clusterAssign(keys, centers, one, one, { heads: 1.5 }), /heads must be a whole number ≥ 1, got 1.5/],
        [() => clusterDispatch(index, score, centers, undefined, { heads: 3 }), /the groups of centers \[2,3,4\] must be 3·B for 3 heads/],
      ];
      for (const [call, message] of cases) assert.throws(call, message);
      if (backend === "native") {
        assert.throws(() => clusterDispatch(outside, score, centers), /clusterDispatch: index 3 is not in \[0, 2\]/);
      }
      tf.dispose([keys, centers, wide, none, one, two, intOne, index, score, floatIndex, short, outside]);
      assert.equal(tf.memory().numTensors, before, "a rejected call leaves no tensor behind");
    });
  }
});
