import assert from "node:assert/strict";
import { test } from "node:test";
import { tf } from "../../lib/engine/index.js";
import { kmeans } from "../../lib/clustering/baselines/index.js";
import { ari } from "../../lib/clustering/metrics/index.js";
import { runPython, testRng } from "./python.js";

function blobs(n: number, d: number, k: number, spread: number, seed: number): Float32Array {
  const rand = testRng(seed);
  const centers = Array.from({ length: k }, () => Array.from({ length: d }, () => (rand() - 0.5) * 20));
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = centers[i % k]![j]! + spread * gauss();
  return data;
}

const SKLEARN = String.raw`
import json, sys
import numpy as np
from sklearn.cluster import KMeans
out = []
for c in json.load(open(sys.argv[1])):
    x = np.array(c["data"], dtype=np.float32).reshape(c["rows"], c["cols"])
    km = KMeans(n_clusters=c["k"], init="k-means++", n_init=c["n_init"], random_state=0).fit(x)
    out.append({"inertia": float(km.inertia_), "labels": km.labels_.tolist()})
print(json.dumps(out))`;

test("k-means finds what scikit-learn's KMeans finds, on separated blobs and on unstructured data", async () => {
  const cases = [
    { data: blobs(600, 8, 5, 1, 1), rows: 600, cols: 8, k: 5, n_init: 1 },
    { data: blobs(500, 3, 4, 8, 2), rows: 500, cols: 3, k: 4, n_init: 10 }, // overlapping: many local optima
    { data: blobs(300, 20, 12, 2, 3), rows: 300, cols: 20, k: 12, n_init: 10 },
  ];
  const reference = runPython<Array<{ inertia: number; labels: number[] }>>(
    SKLEARN,
    cases.map((c) => ({ ...c, data: Array.from(c.data) })),
  );
  for (const [i, c] of cases.entries()) {
    const before = tf.memory().numTensors;
    const ours = await kmeans({ data: c.data, rows: c.rows, cols: c.cols }, c.k, { nInit: c.n_init, seed: 0 });
    assert.equal(tf.memory().numTensors, before, "no tensor left behind");
    const ratio = ours.inertia / reference[i]!.inertia;
    assert.ok(ratio < 1.01, `case ${i}: inertia ${ours.inertia} vs scikit-learn ${reference[i]!.inertia}`);
    if (i === 0) assert.equal(ari(ours.labels, reference[i]!.labels), 1, "same partition of separated blobs");
    // The reported inertia is the labels' inertia under the reported centers.
    let inertia = 0;
    for (let s = 0; s < c.rows; s++) {
      for (let j = 0; j < c.cols; j++) inertia += (c.data[s * c.cols + j]! - ours.centers.data[ours.labels[s]! * c.cols + j]!) ** 2;
    }
    assert.ok(Math.abs(inertia - ours.inertia) / inertia < 1e-4);
  }
});

test("k-means is deterministic per seed, takes tensors and handles k = n and duplicate points", async () => {
  const data = blobs(200, 4, 3, 3, 4);
  const a = await kmeans({ data, rows: 200, cols: 4 }, 3, { seed: 5 });
  const tensor = tf.tensor2d(data, [200, 4]);
  const b = await kmeans(tensor, 3, { seed: 5 });
  tensor.dispose();
  assert.deepEqual(a.labels, b.labels);
  const all = await kmeans({ data: data.subarray(0, 40), rows: 10, cols: 4 }, 10);
  assert.equal(new Set(all.labels).size, 10);
  assert.ok(all.inertia < 1e-6);
  const same = await kmeans({ data: new Float32Array(40).fill(1), rows: 10, cols: 4 }, 3); // one distinct point
  assert.equal(same.labels.length, 10);
});

test("bad k-means inputs are rejected with errors that say what to do", async () => {
  const data = { data: new Float32Array([0, 1, 2, 3]), rows: 2, cols: 2 };
  await assert.rejects(kmeans(data, 3), /k = 3 clusters is more than the 2 samples/);
  await assert.rejects(kmeans(data, 0), /k must be a positive integer/);
  await assert.rejects(kmeans({ ...data, data: new Float32Array([0, Number.NaN, 2, 3]) }, 1), /sample 0 has NaN at dimension 1/);
  await assert.rejects(kmeans(data, 1, { nInit: 0 }), /nInit must be a positive integer/);
});
