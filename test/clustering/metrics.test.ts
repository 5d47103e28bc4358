import assert from "node:assert/strict";
import { test } from "node:test";
import { ari, clusteringAccuracy, nmi } from "../../lib/clustering/metrics/index.js";
import { runPython, testRng } from "./python.js";

const REFERENCE = String.raw`
import json, sys
import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix
out = []
for t, p in json.load(open(sys.argv[1])):
    c = contingency_matrix(t, p)
    r, k = linear_sum_assignment(-c)
    out.append([float(c[r, k].sum()) / len(t), float(normalized_mutual_info_score(t, p)), float(adjusted_rand_score(t, p))])
print(json.dumps(out))
`;

/** Random and degenerate labelings: every shape of contingency table the metrics must handle. */
function cases(): Array<[number[], number[]]> {
  const rand = testRng(7);
  const int = (k: number) => Math.floor(rand() * k);
  const out: Array<[number[], number[]]> = [];
  for (let c = 0; c < 300; c++) {
    const n = 1 + int(c < 150 ? 40 : 400);
    const kt = 1 + int(12);
    const kp = 1 + int(c % 3 === 0 ? 60 : 15);
    const truth = Array.from({ length: n }, () => int(kt));
    // Half the cases correlate pred with truth so the scores span [0, 1], not just chance level.
    const pred = truth.map((t) => (rand() < (c % 2) * 0.8 ? (t * 7) % kp : int(kp)));
    out.push([truth, pred]);
  }
  const n = 200;
  const ramp = Array.from({ length: n }, (_, i) => i);
  const tenWay = ramp.map((i) => i % 10);
  out.push(
    [[0], [0]],
    [[3], [-5]],
    [[0, 0], [1, 2]],
    [[0, 1], [5, 5]],
    [ramp.map(() => 0), ramp.map(() => 0)], // one cluster on both sides
    [ramp.map(() => 4), ramp], // one class, all-distinct clusters
    [ramp, ramp.map(() => 4)], // all-distinct classes, one cluster
    [ramp, ramp.map((i) => n - i)], // all distinct on both sides
    [tenWay, tenWay.map((t) => (t * 3 + 1) % 10)], // a relabelling: perfect
    [tenWay, tenWay.map((t) => -1000000 * t)], // negative and huge ids
    [tenWay, ramp.map((i) => i % 3)], // fewer clusters than classes
    [tenWay, ramp.map((i) => i % 37)], // more clusters than classes
    [tenWay, ramp.map((i) => Math.floor(i / 20))], // independent of the classes
  );
  return out;
}

test("accuracy, NMI and ARI equal scipy's assignment and scikit-learn's scores on 313 labelings", () => {
  const all = cases();
  const reference = runPython<number[][]>(REFERENCE, all);
  all.forEach(([truth, pred], i) => {
    const [acc, refNmi, refAri] = reference[i]!;
    const where = `case ${i} (n=${truth.length})`;
    assert.ok(Math.abs(clusteringAccuracy(truth, pred) - acc!) < 1e-12, `${where}: ACC ${clusteringAccuracy(truth, pred)} vs ${acc}`);
    assert.ok(Math.abs(nmi(truth, pred) - refNmi!) < 1e-10, `${where}: NMI ${nmi(truth, pred)} vs ${refNmi}`);
    assert.ok(Math.abs(ari(truth, pred) - refAri!) < 1e-10, `${where}: ARI ${ari(truth, pred)} vs ${refAri}`);
  });
});

test("metrics take typed arrays and scale to 70,000 samples and as many clusters", () => {
  const rand = testRng(3);
  const n = 70_000;
  const truth = new Uint8Array(n).map(() => Math.floor(rand() * 10));
  const pred = Int32Array.from(truth, (t) => (rand() < 0.7 ? t : Math.floor(rand() * 10)));
  const distinct = Int32Array.from({ length: n }, (_, i) => i);
  const [acc, refNmi, refAri] = runPython<number[][]>(REFERENCE, [[Array.from(truth), Array.from(pred)]])[0]!;
  assert.ok(Math.abs(clusteringAccuracy(truth, pred) - acc!) < 1e-12);
  assert.ok(Math.abs(nmi(truth, pred) - refNmi!) < 1e-10);
  assert.ok(Math.abs(ari(truth, pred) - refAri!) < 1e-10);
  // All-distinct clusters: every class matches exactly one of its samples.
  assert.equal(clusteringAccuracy(truth, distinct), 10 / n);
  assert.equal(clusteringAccuracy(distinct, distinct), 1);
});

test("bad labelings are rejected with errors that say what is wrong", () => {
  assert.throws(() => nmi([0, 1, 2], [0, 1]), /truth has 3 labels but pred has 2/);
  assert.throws(() => ari([], []), /empty/);
  assert.throws(() => clusteringAccuracy([0, Number.NaN], [0, 1]), /truth\[1\] is NaN; labels must be integers/);
  assert.throws(() => clusteringAccuracy([0, 1], [0, 1.5]), /pred\[1\] is 1.5/);
  assert.throws(() => nmi(["a", "b"] as unknown as number[], [0, 1]), /truth\[0\] is the string "a"/);
  assert.throws(() => ari(null as unknown as number[], [0]), /truth must be an array or typed array/);
});
