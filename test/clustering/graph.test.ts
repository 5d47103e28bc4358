import assert from "node:assert/strict";
import { test } from "node:test";
import { tf, ready } from "../../lib/engine/index.js";
import { knnGraph, similarityGraph, thresholdGraph, toCsr, type RowMatrix } from "../../lib/clustering/graph/index.js";
import { testRng } from "./python.js";

/** Clustered random embeddings, so threshold graphs have both dense and empty regions. */
function embeddings(rows: number, cols: number, seed: number): RowMatrix {
  const rand = testRng(seed);
  const centers = Array.from({ length: 5 }, () => Array.from({ length: cols }, () => rand() * 2 - 1));
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const center = centers[i % 5]!;
    for (let j = 0; j < cols; j++) data[i * cols + j] = center[j]! + (rand() - 0.5) * 1.2;
  }
  return { data, rows, cols };
}

/** The same graph computed the obvious way: the dense cosine matrix, each node's top list, union. */
function bruteForce(z: RowMatrix, keep: number, floor: number): Map<string, number> {
  const { data, rows, cols } = z;
  const norm = (i: number) => Math.hypot(...data.subarray(i * cols, (i + 1) * cols));
  const cos = (i: number, j: number) => {
    let s = 0;
    for (let d = 0; d < cols; d++) s += data[i * cols + d]! * data[j * cols + d]!;
    return s / (norm(i) * norm(j));
  };
  const edges = new Map<string, number>();
  for (let i = 0; i < rows; i++) {
    const list: Array<[number, number]> = [];
    for (let j = 0; j < rows; j++) if (j !== i && cos(i, j) >= floor) list.push([cos(i, j), j]);
    list.sort((a, b) => b[0] - a[0]);
    for (const [c, j] of list.slice(0, keep)) edges.set(`${Math.min(i, j)}-${Math.max(i, j)}`, c);
  }
  return edges;
}

function asMap(g: { src: Uint32Array; dst: Uint32Array; weight: Float32Array | Float64Array }): Map<string, number> {
  const out = new Map<string, number>();
  for (let e = 0; e < g.src.length; e++) {
    assert.ok(g.src[e]! < g.dst[e]!, "each edge once, smaller id first");
    out.set(`${g.src[e]}-${g.dst[e]}`, g.weight[e]!);
  }
  assert.equal(out.size, g.src.length, "no duplicate edges");
  return out;
}

function assertSameGraph(actual: Map<string, number>, expected: Map<string, number>): void {
  // Float32 tiles vs float64 reference: pairs within rounding of a cut-off may differ; require ≥ 99.5 %.
  let common = 0;
  for (const [key, w] of expected) {
    if (actual.has(key)) {
      common++;
      assert.ok(Math.abs(actual.get(key)! - w) < 1e-5, `weight of ${key}: ${actual.get(key)} vs ${w}`);
    }
  }
  assert.ok(common >= 0.995 * expected.size && Math.abs(actual.size - expected.size) <= 0.005 * expected.size + 1,
    `${actual.size} edges vs ${expected.size} expected, ${common} in common`);
}

test("the threshold graph equals the dense computation, across tile borders and with the cap", async () => {
  await ready();
  const z = embeddings(300, 12, 1);
  for (const [threshold, cap] of [[0.5, 50], [0.3, 7], [0.9, 3]] as const) {
    const g = await thresholdGraph(z, { threshold, cap, tileSize: 64 });
    assertSameGraph(asMap(g), bruteForce(z, cap, threshold));
    assert.deepEqual(g.info.spec, { kind: "threshold", threshold, cap });
    assert.equal(g.info.edges, g.src.length);
    assert.equal(g.n, 300);
  }
  const capped = await thresholdGraph(z, { threshold: 0.3, cap: 7, tileSize: 64 });
  assert.ok(capped.info.capped > 0, "some nodes had more than 7 neighbours above 0.3");
});

test("the kNN graph equals the dense computation and takes a tensor without leaking", async () => {
  await ready();
  const z = embeddings(257, 9, 2);
  const before = tf.memory().numTensors;
  const tensor = tf.tensor2d(z.data, [z.rows, z.cols]);
  const g = await knnGraph(tensor, { k: 10, tileSize: 100 });
  tensor.dispose();
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  assertSameGraph(asMap(g), bruteForce(z, 10, 1e-30));
  // Every node has at least its own k picks.
  const degree = new Int32Array(z.rows);
  for (let e = 0; e < g.src.length; e++) degree[g.src[e]!]!++, degree[g.dst[e]!]!++;
  assert.ok(degree.every((d) => d >= 10));
});

test("isolated nodes are counted, and far-apart groups get no edges between them", async () => {
  const data = new Float32Array([1, 0, 0.9, 0.1, 0, 1, 0.1, 0.9, -1, -1]);
  const g = await thresholdGraph({ data, rows: 5, cols: 2 }, { threshold: 0.8 });
  assert.deepEqual(Array.from(g.src), [0, 2]);
  assert.deepEqual(Array.from(g.dst), [1, 3]);
  assert.equal(g.info.isolated, 1);
});

test("bad embeddings and specs are rejected with errors naming the problem", async () => {
  const nan = new Float32Array([1, 0, Number.NaN, 1]);
  await assert.rejects(thresholdGraph({ data: nan, rows: 2, cols: 2 }), /row 1 has NaN at dimension 0/);
  const zero = new Float32Array([1, 0, 0, 0]);
  await assert.rejects(thresholdGraph({ data: zero, rows: 2, cols: 2 }), /row 1 is all zeros/);
  await assert.rejects(thresholdGraph({ data: new Float32Array(0), rows: 0, cols: 2 }), /empty/);
  await assert.rejects(thresholdGraph({ data: new Float32Array(3), rows: 2, cols: 2 }), /3 values, but rows × cols/);
  const ok = { data: new Float32Array([1, 0, 0, 1]), rows: 2, cols: 2 };
  await assert.rejects(thresholdGraph(ok, { threshold: 2 }), /threshold must be a cosine/);
  await assert.rejects(knnGraph(ok, { k: 0 }), /k must be a positive integer/);
  await assert.rejects(knnGraph(ok, { k: 2 }), /k = 2 neighbours per node, but with 2 samples a node has at most 1; use k ≤ 1/);
  await assert.rejects(knnGraph({ data: Float32Array.of(1, 0), rows: 1, cols: 2 }, { k: 1 }), /give at least two samples/);
  await assert.rejects(similarityGraph(ok, { kind: "radius" } as never), /graph spec must be/);
  const t3 = tf.zeros([2, 2, 2]);
  await assert.rejects(thresholdGraph(t3 as tf.Tensor2D), /2-D tensor/);
  t3.dispose();
});

test("toCsr lists each edge in both rows and rejects bad edge lists", () => {
  const csr = toCsr({ n: 4, src: Uint32Array.of(0, 1), dst: Uint32Array.of(1, 2), weight: Float64Array.of(2, 3) });
  assert.deepEqual(Array.from(csr.offsets), [0, 1, 3, 4, 4]);
  assert.deepEqual(Array.from(csr.degrees), [2, 5, 3, 0]);
  assert.equal(csr.totalWeight, 5);
  const bad = (src: number[], dst: number[], w: number[], n = 3) =>
    toCsr({ n, src: Uint32Array.from(src), dst: Uint32Array.from(dst), weight: Float64Array.from(w) });
  assert.throws(() => bad([0], [3], [1]), /edge 0 \(0–3\) names a node ≥ n = 3/);
  assert.throws(() => bad([1], [1], [1]), /self loop on node 1/);
  assert.throws(() => bad([0], [1], [-1]), /weight -1; weights must be finite and positive/);
  assert.throws(() => bad([0], [1], [Number.NaN]), /weight NaN/);
  assert.throws(() => bad([0, 1], [1], [1, 1]), /one entry per edge/);
  assert.throws(() => toCsr({ n: 2, src: [0] as never, dst: Uint32Array.of(1), weight: Float64Array.of(1) }), /Uint32Array/);
});
