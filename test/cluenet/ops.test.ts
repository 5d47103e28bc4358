import assert from "node:assert/strict";
import { before, test } from "node:test";
import { engine, tf } from "../../lib/index.js";
import { dispatch, hardAggregate, hardAssign, softAggregate } from "../../lib/cluenet/ops.js";
import { adaptiveAvgPool, foldPenalty, poolMatrix } from "../../lib/cluenet/pooling.js";
import { loadBackend } from "../helpers/backends.js";
import { maxAbsDiff } from "./reference.js";

before(async () => {
  await engine.ready();
});

test("hard assignment: argmax over centers with ties to the lowest index (as PyTorch's max), on native, wasm and cpu", async () => {
  const initial = tf.getBackend();
  const backends = ["native", "wasm", "cpu"] as const;
  for (const backend of backends) await loadBackend(backend);
  try {
    for (const backend of backends) {
      await tf.setBackend(backend);
      const scores = tf.tensor3d([[[0.2, 0.7, 0.7, 0.1], [0.5, 0.5, 0.5, 0.5], [0.1, 0.2, 0.3, 0.9]]]); // [1, N=3, M=4]
      const { mask, index } = hardAssign(scores);
      assert.deepEqual([...index.dataSync()], [1, 0, 3], backend);
      assert.equal(mask.dtype, "float32");
      assert.deepEqual([...mask.dataSync()], [0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1], backend);
      tf.dispose([scores, mask, index]);
    }
  } finally {
    await tf.setBackend(initial);
  }
});

test("hard assignment inside fold regions only picks centers of the pixel's region", () => {
  // 4×4 map, 2×2 centers, 2×2 folds: each quadrant has exactly one center
  const penalty = foldPenalty(4, 4, 2, 2, 2)!;
  const allowed = penalty.arraySync().map((row) => row.map((v) => (v === 0 ? 1 : 0)));
  for (let p = 0; p < 16; p++) {
    const quadrant = Math.floor(Math.floor(p / 4) / 2) * 2 + Math.floor((p % 4) / 2);
    assert.deepEqual(allowed[p], [0, 1, 2, 3].map((m) => (m === quadrant ? 1 : 0)));
  }
  const scores = tf.tensor3d([Array.from({ length: 16 }, () => [0.9, 0.8, 0.7, 0.1])]);
  const { index, mask } = hardAssign(scores, penalty);
  assert.deepEqual([...index.dataSync()], Array.from({ length: 16 }, (_, p) => Math.floor(Math.floor(p / 4) / 2) * 2 + Math.floor((p % 4) / 2)));
  assert.equal(foldPenalty(4, 4, 2, 2, 1), null);
  tf.dispose([penalty, scores, index, mask]);
});

test("adaptive average pooling uses PyTorch's windows [⌊iL/p⌋, ⌈(i+1)L/p⌉), per fold", () => {
  const m = poolMatrix(7, 3);
  const rows = [0, 1, 2].map((i) => [...m.slice(i * 7, i * 7 + 7)].map((v) => +v.toFixed(4)));
  assert.deepEqual(rows, [
    [0.3333, 0.3333, 0.3333, 0, 0, 0, 0],
    [0, 0, 0.3333, 0.3333, 0.3333, 0, 0],
    [0, 0, 0, 0, 0.3333, 0.3333, 0.3333],
  ]);
  const folded = poolMatrix(8, 4, 2); // two segments of 4 pooled to 2 each
  assert.deepEqual([...folded.slice(0, 8)], [0.5, 0.5, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...folded.slice(24, 32)], [0, 0, 0, 0, 0, 0, 0.5, 0.5]);
  tf.tidy(() => {
    const x = tf.randomNormal([2, 6, 9, 3], 0, 1, "float32", 2) as tf.Tensor4D;
    // equal windows: one avgPool; unequal: matrices; both equal a direct loop
    for (const [oh, ow] of [[3, 3], [4, 5], [6, 9]] as const) {
      const y = adaptiveAvgPool(x, oh, ow);
      const xs = x.arraySync();
      const expect: number[] = [];
      for (let b = 0; b < 2; b++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++)
            for (let c = 0; c < 3; c++) {
              const [r0, r1] = [Math.floor((i * 6) / oh), Math.ceil(((i + 1) * 6) / oh)];
              const [c0, c1] = [Math.floor((j * 9) / ow), Math.ceil(((j + 1) * 9) / ow)];
              let s = 0;
              for (let r = r0; r < r1; r++) for (let q = c0; q < c1; q++) s += xs[b]![r]![q]![c]!;
              expect.push(s / ((r1 - r0) * (c1 - c0)));
            }
      assert.ok(maxAbsDiff(y.dataSync(), expect) < 1e-5, `${oh}×${ow}`);
    }
  });
});

test("soft aggregation, hard aggregation and dispatch compute their formulas", () => {
  tf.tidy(() => {
    const q = tf.tensor3d([[[1, 0], [0, 2]]]); // [1, M=2, d=2]
    const k = tf.tensor3d([[[1, 0], [0, 1], [1, 1]]]); // [1, N=3, d]
    const v = tf.tensor3d([[[1, 2], [3, 4], [5, 6]]]);
    const ca = softAggregate(q, k, v).arraySync()[0]!;
    for (const [m, qm] of [[1, 0], [0, 2]].entries()) {
      const logits = [0, 1, 2].map((n) => qm[0]! * [1, 0, 1][n]! + qm[1]! * [0, 1, 1][n]!);
      const z = logits.map(Math.exp);
      const total = z.reduce((a, b) => a + b);
      const expect = [0, 1].map((j) => z.reduce((a, w, n) => a + (w / total) * [[1, 2], [3, 4], [5, 6]][n]![j]!, 0));
      assert.ok(maxAbsDiff(ca[m]!, expect) < 1e-5);
    }
    // A: pixels 0 and 2 to center 1 (weights 0.5, 0.25), pixel 1 to center 0 (weight 1)
    const A = tf.tensor3d([[[0, 0.5], [1, 0], [0, 0.25]]]);
    const c = tf.tensor3d([[[10, 10], [20, 20]]]);
    const agg = hardAggregate(A, v, c).arraySync()[0]!;
    assert.ok(maxAbsDiff(agg[0]!, [(3 + 10) / 2, (4 + 10) / 2]) < 1e-6);
    assert.ok(maxAbsDiff(agg[1]!, [(0.5 * 1 + 0.25 * 5 + 20) / 1.75, (0.5 * 2 + 0.25 * 6 + 20) / 1.75]) < 1e-5);
    const out = dispatch({ index: tf.tensor2d([[1, 0, 1]], undefined, "int32"), score: tf.tensor2d([[0.5, 1, 0.25]]) }, c).arraySync()[0]!;
    assert.deepEqual(out, [[10, 10], [10, 10], [5, 5]]);
  });
});
