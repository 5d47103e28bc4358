import assert from "node:assert/strict";
import { test } from "node:test";
import { kmeans, umap } from "../../lib/clustering/baselines/index.js";
import { ari } from "../../lib/clustering/metrics/index.js";
import { testRng } from "./python.js";
import { blobs } from "./synthetic.js";

/** Two interleaved half-moons (scikit-learn's make_moons) in 2-D. */
function moons(n: number, noise: number, seed: number): Float32Array {
  const rand = testRng(seed);
  const data = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const t = Math.PI * rand();
    const second = i % 2;
    data[2 * i] = (second ? 1 - Math.cos(t) : Math.cos(t)) + noise * (rand() - 0.5);
    data[2 * i + 1] = (second ? 0.5 - Math.sin(t) : Math.sin(t)) + noise * (rand() - 0.5);
  }
  return data;
}

/** Mean share of each point's `k` nearest neighbours (Euclidean) in `a` that stay among its `k` nearest in `b`. */
function neighbourOverlap(a: Float32Array, b: Float32Array, n: number, da: number, db: number, k: number): number {
  const nearest = (x: Float32Array, d: number, i: number) => {
    const dist = Array.from({ length: n }, (_, j) => {
      let s = 0;
      for (let c = 0; c < d; c++) s += (x[i * d + c]! - x[j * d + c]!) ** 2;
      return [s, j] as const;
    });
    return new Set(dist.sort((p, q) => p[0] - q[0]).slice(1, k + 1).map((p) => p[1]));
  };
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const inB = nearest(b, db, i);
    for (const j of nearest(a, da, i)) kept += inB.has(j) ? 1 : 0;
  }
  return kept / (n * k);
}

test("umap: clusters in 50-D stay apart in 2-D, and neighbourhoods survive the projection", async () => {
  const { data, truth } = blobs(300, 50, 5, 3);
  const embedded = await umap({ data, rows: 300, cols: 50 }, { components: 2, neighbors: 15, seed: 1 });
  assert.deepEqual([embedded.rows, embedded.cols], [300, 2]);
  const found = await kmeans(embedded, 5, { seed: 0, nInit: 4 });
  assert.ok(ari(truth, found.labels) > 0.95, `k-means on the embedding: ARI ${ari(truth, found.labels)}`);
  const curve = moons(300, 0.05, 5);
  const flat = await umap({ data: curve, rows: 300, cols: 2 }, { components: 2, neighbors: 15, seed: 1 });
  // A random layout keeps ~10/300 of a point's 10 neighbours; UMAP keeps most of them.
  const overlap = neighbourOverlap(curve, flat.data, 300, 2, 2, 10);
  assert.ok(overlap > 0.5, `neighbourhood overlap ${overlap}`);
});

test("umap: the same seed gives the same embedding; epochs are reported; abort stops it", async () => {
  const data = moons(120, 0.1, 4);
  const x = { data, rows: 120, cols: 2 };
  const seen: number[] = [];
  const a = await umap(x, { components: 2, neighbors: 10, epochs: 50, seed: 7, onEpoch: (e, total) => seen.push(e, total) });
  const b = await umap(x, { components: 2, neighbors: 10, epochs: 50, seed: 7 });
  assert.deepEqual(a.data, b.data);
  assert.equal(seen.at(-2), 50);
  assert.equal(seen.at(-1), 50);
  const controller = new AbortController();
  const stopped = umap(x, { components: 2, neighbors: 10, epochs: 400, onEpoch: (e) => e === 3 && controller.abort(new Error("stop here")), signal: controller.signal });
  await assert.rejects(stopped, /stop here/);
});

test("umap: bad input is rejected with the reason", async () => {
  const ok = { data: new Float32Array(40), rows: 20, cols: 2 };
  await assert.rejects(umap({ data: new Float32Array(10), rows: 5, cols: 2 }, { neighbors: 10 }), /5 samples cannot have 10 neighbours/);
  const nan = new Float32Array(40).fill(1);
  nan[13] = NaN;
  await assert.rejects(umap({ data: nan, rows: 20, cols: 2 }, { neighbors: 5 }), /row 6 has a non-finite value/);
  await assert.rejects(umap(ok, { components: 0 }), /components must be a positive integer/);
  await assert.rejects(umap(ok, { neighbors: 1 }), /neighbors must be an integer ≥ 2/);
  await assert.rejects(umap(ok, { minDist: -1 }), /minDist must be ≥ 0/);
  await assert.rejects(umap(ok, { epochs: 0 }), /epochs must be a positive integer/);
});
