import assert from "node:assert/strict";
import { test } from "node:test";
import { leidenClusters, mergeToCount } from "../../lib/clustering/baselines/index.js";
import { modularity } from "../../lib/clustering/community/index.js";
import { knnGraph, toCsr } from "../../lib/clustering/graph/index.js";
import { ari } from "../../lib/clustering/metrics/index.js";
import { testRng } from "./python.js";
import { blobs } from "./synthetic.js";

const distinct = (labels: Int32Array) => new Set(labels).size;

test("leidenClusters: finds k well-separated blobs, numbered by size, the same on every run", async () => {
  const { data, truth } = blobs(600, 8, 6, 11);
  const x = { data, rows: 600, cols: 8 };
  const result = await leidenClusters(x, 6, { neighbors: 10 });
  assert.equal(distinct(result.labels), 6);
  assert.ok(ari(truth, result.labels) > 0.95, `ARI ${ari(truth, result.labels)}`);
  const sizes = [0, 1, 2, 3, 4, 5].map((c) => result.labels.filter((l) => l === c).length);
  assert.deepEqual(sizes, [...sizes].sort((a, b) => b - a), "cluster 0 is the largest");
  assert.equal(result.found - result.merged, 6);
  assert.equal(result.graph.spec.kind, "knn");
  const graph = await knnGraph(x, { k: 10 });
  assert.ok(Math.abs(result.modularity - modularity(graph, result.labels, { resolution: result.resolution })) < 1e-9);
  const again = await leidenClusters(x, 6, { neighbors: 10 });
  assert.deepEqual(again.labels, result.labels);
  assert.deepEqual(again.trials, result.trials);
});

test("leidenClusters: fewer clusters than blobs merges whole blobs", async () => {
  const { data, truth } = blobs(600, 8, 6, 11);
  const result = await leidenClusters({ data, rows: 600, cols: 8 }, 3, { neighbors: 10 });
  assert.equal(distinct(result.labels), 3);
  // Every blob lies (almost) entirely inside one cluster.
  for (let blob = 0; blob < 6; blob++) {
    const counts = new Map<number, number>();
    truth.forEach((t, i) => t === blob && counts.set(result.labels[i]!, (counts.get(result.labels[i]!) ?? 0) + 1));
    assert.ok(Math.max(...counts.values()) >= 95, `blob ${blob} split as ${JSON.stringify([...counts])}`);
  }
});

test("mergeToCount: each merge is the pair that raises modularity the most (checked against every pair)", () => {
  // A planted partition: 6 groups of 8 nodes, dense inside, a few random edges between.
  const rand = testRng(5);
  const src: number[] = [];
  const dst: number[] = [];
  const weight: number[] = [];
  const group = (v: number) => Math.floor(v / 8);
  for (let a = 0; a < 48; a++) {
    for (let b = a + 1; b < 48; b++) {
      const p = group(a) === group(b) ? 0.7 : group(a) + 1 === group(b) && group(a) % 2 === 0 ? 0.12 : 0.02;
      if (rand() < p) {
        src.push(a);
        dst.push(b);
        weight.push(0.5 + rand());
      }
    }
  }
  const csr = toCsr({ n: 48, src: Uint32Array.from(src), dst: Uint32Array.from(dst), weight: Float64Array.from(weight) });
  const start = Int32Array.from({ length: 48 }, (_, v) => group(v));
  for (const resolution of [1, 0.5, 2]) {
    let current: Int32Array = start;
    for (let k = 5; k >= 2; k--) {
      const merged = mergeToCount(csr, current, k, resolution);
      assert.equal(distinct(merged), k);
      // Brute force: the best modularity over every single merge of two current communities.
      const ids = [...new Set(current)];
      let best = -Infinity;
      for (const a of ids) for (const b of ids) if (a < b) best = Math.max(best, modularity(csr, current.map((c) => (c === b ? a : c)), { resolution }));
      const got = modularity(csr, merged, { resolution });
      assert.ok(Math.abs(got - best) < 1e-12, `γ ${resolution}, down to ${k}: modularity ${got}, best single merge ${best}`);
      current = merged;
    }
  }
});

test("mergeToCount: communities with no edge between them merge smallest first", () => {
  // Three separate triangles of 3, 3 and 4 nodes (the last a 4-clique): merging to 2 joins the two small ones.
  const edges: Array<[number, number]> = [[0, 1], [1, 2], [0, 2], [3, 4], [4, 5], [3, 5], [6, 7], [6, 8], [6, 9], [7, 8], [7, 9], [8, 9]];
  const csr = toCsr({ n: 10, src: Uint32Array.from(edges, (e) => e[0]), dst: Uint32Array.from(edges, (e) => e[1]), weight: new Float64Array(edges.length).fill(1) });
  const merged = mergeToCount(csr, Int32Array.from([0, 0, 0, 1, 1, 1, 2, 2, 2, 2]), 2, 1);
  assert.equal(merged[0], merged[3]);
  assert.notEqual(merged[0], merged[6]);
});

test("leidenClusters: bad input is rejected with the reason", async () => {
  const { data } = blobs(40, 4, 2, 1);
  const x = { data, rows: 40, cols: 4 };
  await assert.rejects(leidenClusters(x, 0), /k must be a positive integer, got 0/);
  await assert.rejects(leidenClusters(x, 41), /k = 41 clusters is more than the 40 samples/);
  await assert.rejects(leidenClusters(x, 2, { neighbors: 40 }), /neighbors = 40, but there are only 40 samples; use neighbors ≤ 39/);
  await assert.rejects(leidenClusters(x, 2, { maxTrials: 0 }), /maxTrials must be a positive integer/);
  const bad = data.slice();
  bad[4 * 7 + 2] = NaN;
  await assert.rejects(leidenClusters({ data: bad, rows: 40, cols: 4 }, 2), /row 7 has NaN/);
});
