import assert from "node:assert/strict";
import { test } from "node:test";
import { tf } from "../../lib/engine/index.js";
import type { Encoder } from "../../lib/train/encoder.js";
import { modularity } from "../../lib/clustering/community/index.js";
import {
  clusteringInfoNce,
  deltaAverageDegree,
  deltaModularity,
  drawPositives,
  greedyMerges,
  jointStatistics,
  meanPairDistances,
  mergeScores,
  quantile,
  riskScreening,
  run,
  type PairScore,
} from "../../lib/clustering/dcvcd/index.js";
import { normalizedRows, toCsr, type EdgeList, type RowMatrix } from "../../lib/clustering/graph/index.js";
import { clusteringAccuracy } from "../../lib/clustering/metrics/index.js";
import { Random } from "../../lib/clustering/random.js";
import { runPython, testRng } from "./python.js";

function randomGraph(n: number, p: number, seed: number): EdgeList {
  const rand = testRng(seed);
  const src: number[] = [];
  const dst: number[] = [];
  const w: number[] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (rand() < p) src.push(i), dst.push(j), w.push(0.5 + rand());
  return { n, src: Uint32Array.from(src), dst: Uint32Array.from(dst), weight: Float64Array.from(w) };
}

/** Blobs in `dims` dimensions around `k` random unit directions. */
function blobs(n: number, dims: number, k: number, noise: number, seed: number): { z: RowMatrix; truth: Int32Array } {
  const rand = testRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const centers = Array.from({ length: k }, () => Array.from({ length: dims }, gauss));
  const data = new Float32Array(n * dims);
  const truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    truth[i] = i % k;
    for (let j = 0; j < dims; j++) data[i * dims + j] = centers[i % k]![j]! + noise * gauss();
  }
  return { z: { data, rows: n, cols: dims }, truth };
}

test("the closed forms of ΔQ and Δk̄ equal the direct computation on the graph", () => {
  const rand = testRng(21);
  for (let trial = 0; trial < 20; trial++) {
    const g = randomGraph(50, 0.15, 500 + trial);
    const csr = toCsr(g);
    const communities = 6;
    const label = Int32Array.from({ length: g.n }, () => Math.floor(rand() * communities));
    // Main communities 0..2, isolated 3..5 (as jointStatistics numbers them).
    const stats = jointStatistics(csr, label, 3, 3);
    for (let a = 0; a < 3; a++) {
      for (let b = 3; b < 6; b++) {
        const e = stats.between[a * 3 + (b - 3)]!;
        const merged = label.map((c) => (c === b ? a : c));
        const directQ = modularity(csr, merged) - modularity(csr, label);
        const closedQ = deltaModularity(e, stats.totals[a]!, stats.totals[b]!, stats.m);
        assert.ok(Math.abs(directQ - closedQ) < 1e-12, `ΔQ ${closedQ} vs direct ${directQ}`);
        // k(C) = (1/|C|) Σ_{i,j∈C} w_ij, each internal edge twice.
        const k = (members: (i: number) => boolean) => {
          let inside = 0;
          let size = 0;
          for (let i = 0; i < g.n; i++) if (members(i)) size++;
          for (let x = 0; x < g.src.length; x++) if (members(g.src[x]!) && members(g.dst[x]!)) inside += 2 * g.weight[x]!;
          return { value: size ? inside / size : 0, size };
        };
        const ka = k((i) => label[i] === a);
        const kb = k((i) => label[i] === b);
        const kab = k((i) => label[i] === a || label[i] === b);
        const directK = kab.value - (ka.size * ka.value + kb.size * kb.value) / (ka.size + kb.size);
        const closedK = deltaAverageDegree(e, stats.sizes[a]!, stats.sizes[b]!);
        assert.ok(Math.abs(directK - closedK) < 1e-12, `Δk̄ ${closedK} vs direct ${directK}`);
      }
    }
  }
});

test("mean pairwise distances equal the brute-force mean, across tiles; sampling estimates them", async () => {
  const { z } = blobs(230, 6, 4, 0.8, 3);
  const unit = normalizedRows(z);
  const rand = testRng(4);
  const community = Int32Array.from({ length: 230 }, () => Math.floor(rand() * 7) - 1); // -1: not involved
  const exact = await meanPairDistances(unit, community, 3, 3, { tileSize: 32 });
  for (let k = 0; k < 3; k++) {
    for (let l = 0; l < 3; l++) {
      let sum = 0;
      let pairs = 0;
      for (let i = 0; i < 230; i++) {
        if (community[i] !== k) continue;
        for (let j = 0; j < 230; j++) {
          if (community[j] !== 3 + l) continue;
          let d2 = 0;
          for (let c = 0; c < 6; c++) d2 += (unit.data[i * 6 + c]! - unit.data[j * 6 + c]!) ** 2;
          sum += Math.sqrt(d2);
          pairs++;
        }
      }
      assert.ok(Math.abs(exact[k * 3 + l]! - sum / pairs) < 1e-4, `t(${k},${l}) ${exact[k * 3 + l]} vs ${sum / pairs}`);
    }
  }
  const sampled = await meanPairDistances(unit, community, 3, 3, { mainSample: 20, random: testRng(9) });
  for (let x = 0; x < 9; x++) assert.ok(Math.abs(sampled[x]! - exact[x]!) < 0.15, "a 20-member sample estimates the mean");
});

test("merge scores are normalised per main community and merges never conflict", () => {
  const stats = { mains: 2, isolated: 3, between: Float64Array.of(4, 1, 0, 0, 2, 3), totals: Float64Array.of(20, 30, 5, 6, 7), sizes: Float64Array.of(10, 12, 3, 4, 5), m: 40 };
  const scores = mergeScores(stats, Float64Array.of(0.5, 1, 1.5, 1.2, 0.6, 0.3));
  for (const k of [0, 1]) {
    const row = scores.filter((p) => p.main === k);
    const maxQ = Math.max(...row.map((p) => Math.abs(p.dQ)));
    const maxK = Math.max(...row.map((p) => Math.abs(p.dk)));
    const maxT = Math.max(...row.map((p) => p.t));
    for (const p of row) assert.ok(Math.abs(p.score - (p.dQ / maxQ + p.dk / maxK - p.t / maxT)) < 1e-9);
  }
  const pairs: PairScore[] = [
    { main: 0, isolated: 0, dQ: 0, dk: 0, t: 0, score: 3 },
    { main: 1, isolated: 0, dQ: 0, dk: 0, t: 0, score: 2.5 },
    { main: 0, isolated: 1, dQ: 0, dk: 0, t: 0, score: 2 },
    { main: 1, isolated: 2, dQ: 0, dk: 0, t: 0, score: 1 },
  ];
  assert.deepEqual(greedyMerges(pairs).map((p) => [p.main, p.isolated]), [[0, 0], [1, 2]]);
  assert.deepEqual(greedyMerges(pairs, 2).map((p) => [p.main, p.isolated]), [[0, 0], [0, 1], [1, 2]]);
});

test("the clustering-aware InfoNCE equals the formula, skipping anchors without a positive", () => {
  const rand = testRng(8);
  const b = 12;
  const d = 5;
  const values = Float32Array.from({ length: b * d }, () => rand() * 2 - 1);
  const labels = Int32Array.of(0, 0, 1, 1, 1, 2, 0, 3, 1, 2, 0, 4); // 3 and 4 have no positive
  const positives = drawPositives(labels, new Random(1));
  labels.forEach((l, i) => {
    const others = Array.from(labels.keys()).filter((j) => j !== i && labels[j] === l);
    if (others.length === 0) assert.equal(positives[i], -1);
    else assert.ok(others.includes(positives[i]!));
  });
  const tau = 0.5;
  const z = tf.tensor2d(values, [b, d]);
  const loss = clusteringInfoNce(z, labels, positives, tau);
  const actual = loss.dataSync()[0]!;
  tf.dispose([z, loss]);
  const norm = (i: number) => Math.hypot(...values.subarray(i * d, i * d + d));
  const s = (i: number, j: number) => {
    let dot = 0;
    for (let c = 0; c < d; c++) dot += values[i * d + c]! * values[j * d + c]!;
    return dot / (norm(i) * norm(j));
  };
  let expected = 0;
  for (let i = 0; i < b; i++) {
    if (positives[i]! < 0) continue;
    const pos = Math.exp(s(i, positives[i]!) / tau);
    let neg = 0;
    for (let j = 0; j < b; j++) if (labels[j] !== labels[i]) neg += Math.exp(s(i, j) / tau);
    expected -= Math.log(pos / (pos + neg));
  }
  assert.ok(Math.abs(actual - expected) < 1e-4 * Math.abs(expected), `${actual} vs ${expected}`);
});

test("risk screening keeps what numpy's quantile keeps", () => {
  const values = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5];
  const reference = runPython<number[]>(
    `import json, sys, numpy as np\nv = json.load(open(sys.argv[1]))\nprint(json.dumps([float(np.quantile(v, q)) for q in (0.1, 0.5, 0.9, 1.0)]))`,
    values,
  );
  [0.1, 0.5, 0.9, 1].forEach((q, i) => assert.ok(Math.abs(quantile(values, q) - reference[i]!) < 1e-12));
  // Points on a line: the farthest 10 % from the centroid leave.
  const z: RowMatrix = { data: Float32Array.from({ length: 20 }, (_, i) => i), rows: 20, cols: 1 };
  const kept = riskScreening(z, Array.from({ length: 20 }, (_, i) => i), 0.9);
  assert.equal(kept.length, 18);
  assert.ok(!kept.includes(0) && !kept.includes(19));
});

test("DCvCD on frozen embeddings corrects noisy initial labels and empties the pool", async () => {
  const { z, truth } = blobs(600, 16, 4, 0.9, 12);
  const rand = testRng(13);
  // A weak backbone: 30 % of the initial labels are wrong; label values are arbitrary ids.
  const ids = [7, -3, 100, 42];
  const initial = Int32Array.from(truth, (t) => ids[rand() < 0.3 ? Math.floor(rand() * 4) : t]!);
  const seen: number[] = [];
  const result = await run({ embeddings: z, initialLabels: initial, truth }, { graph: { kind: "threshold", threshold: 0.5, cap: 20 }, onRound: (r) => seen.push(r.round) });
  assert.deepEqual(seen, result.rounds.map((r) => r.round));
  assert.equal(result.summary.ended, "pool empty");
  assert.ok(result.rounds.at(-1)!.poolAfter === 0);
  for (const r of result.rounds.slice(1)) {
    assert.ok(r.poolAfter < r.poolBefore, `round ${r.round} shrinks the pool`);
    assert.ok(r.merges.length <= 4, "at most one merge per main community");
    assert.equal(new Set(r.merges.map((m) => m.isolated)).size, r.merges.length);
  }
  assert.ok(result.labels.every((l) => ids.includes(l)), "labels come back in the initial labels' values");
  const before = clusteringAccuracy(truth, initial);
  const after = clusteringAccuracy(truth, result.labels);
  assert.ok(after > before + 0.15, `accuracy ${before} → ${after}`);
  assert.equal(result.summary.final!.acc, after);
  assert.ok(result.rounds[0]!.purity! > before, "main communities are purer than the initial clusters");
  assert.deepEqual(result.summary.deviations.map((d) => d.option), ["graph", "fineTuning"]);
});

/** A two-layer perceptron encoder: enough to check fine-tuning end to end. */
function tinyEncoder(inputs: number, dims: number, seed: number): Encoder {
  const w1 = tf.tidy(() => tf.variable(tf.randomNormal([inputs, 32], 0, 0.3, "float32", seed)));
  const w2 = tf.tidy(() => tf.variable(tf.randomNormal([32, dims], 0, 0.3, "float32", seed + 1)));
  return {
    embed: (x) => tf.matMul(tf.relu(tf.matMul(tf.reshape(x, [x.shape[0]!, inputs]), w1)), w2) as tf.Tensor2D,
    trainableVariables: [w1, w2],
    dispose: () => tf.dispose([w1, w2]),
  };
}

test("DCvCD fine-tunes an encoder each round, leaks no tensor and reports every deviation", async () => {
  const { z, truth } = blobs(400, 10, 4, 1, 14);
  const before = tf.memory().numTensors;
  const encoder = tinyEncoder(10, 8, 3);
  const w0 = encoder.trainableVariables[0]!.dataSync().slice();
  const inputs = tf.tensor2d(z.data, [400, 10]);
  const result = await run({ encoder, inputs, truth }, { k: 4, epochsPerRound: 1, mergesPerMain: 3, fineTuneSamples: 128, maxRounds: 3 });
  inputs.dispose();
  const tuned = result.rounds.filter((r) => r.fineTune);
  assert.ok(tuned.length >= 1);
  for (const r of tuned) assert.ok(r.fineTune!.steps > 0 && r.fineTune!.losses.every(Number.isFinite));
  assert.notDeepEqual(encoder.trainableVariables[0]!.dataSync(), w0, "the encoder's weights moved");
  encoder.dispose();
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  assert.equal(result.labels.length, 400);
  const deviated = result.summary.deviations.map((d) => d.option).sort();
  assert.deepEqual(deviated, ["epochsPerRound", "fineTuneSamples", "graph", "maxRounds", "mergesPerMain"]);
});

test("DCvCD with a kNN graph links all of a cluster or pool smaller than k, and rejects k ≥ the samples", async () => {
  const { z, truth } = blobs(120, 8, 4, 0.9, 5);
  // 30 per cluster: k = 40 exceeds every initial cluster and, at the end, the pool.
  const result = await run({ embeddings: z, initialLabels: truth, truth }, { graph: { kind: "knn", k: 40 } });
  assert.equal(result.summary.ended, "pool empty");
  for (const c of result.summary.initial.clusters) assert.deepEqual(c.graph.spec, { kind: "knn", k: 29 }, "k shrank to the cluster's 30 samples − 1");
  await assert.rejects(run({ embeddings: z, initialLabels: truth }, { graph: { kind: "knn", k: 120 } }), /graph.k = 120 neighbours per node, but there are only 120 samples; use k ≤ 119/);
});

test("bad DCvCD inputs are rejected with errors that say what to do", async () => {
  const { z, truth } = blobs(50, 4, 2, 0.5, 1);
  const nan = Float32Array.from(z.data);
  nan[13] = Number.NaN;
  await assert.rejects(run({ embeddings: { ...z, data: nan } }, { k: 2 }), /embeddings: row 3 has NaN at dimension 1/);
  const zero = Float32Array.from(z.data).fill(0, 8, 12);
  await assert.rejects(run({ embeddings: { ...z, data: zero } }, { k: 2 }), /row 2 is all zeros/);
  await assert.rejects(run({ embeddings: z }, { k: 51 }), /k = 51 clusters is more than the 50 samples/);
  await assert.rejects(run({ embeddings: z }), /give initialLabels .* or options.k/);
  await assert.rejects(run({ embeddings: z, initialLabels: [0, 1] }), /initialLabels has 2 labels but there are 50 samples/);
  await assert.rejects(run({ embeddings: z, truth: truth.subarray(1) }, { k: 2 }), /truth has 49 labels but there are 50 samples/);
  // Orthogonal one-hot embeddings: no cosine reaches 0.5, the graph is empty.
  const eye = { data: Float32Array.from({ length: 36 }, (_, i) => (i % 7 === 0 ? 1 : 0)), rows: 6, cols: 6 };
  await assert.rejects(run({ embeddings: eye }, { k: 2 }), /the similarity graph has no edge in any initial cluster/);
  await assert.rejects(run({ embeddings: z }, { k: 2, rho: 1.5 }), /option rho must be a quantile in \(0, 1\], got 1.5/);
  await assert.rejects(run({ embeddings: z }, { k: 2, poolResolution: 0 }), /option poolResolution must be > 0, got 0/);
});

test("the fine-tuning optimiser takes the same steps as torch.optim.SGD(momentum, weight_decay)", async () => {
  const { SgdMomentum } = await import("../../lib/clustering/dcvcd/finetune.js");
  const x = [[1, 2, 0.5], [0.3, -1, 2]];
  const y = [[1, 0], [0, 1]];
  const w0 = [[0.1, -0.2], [0.4, 0.3], [-0.5, 0.2]];
  const reference = runPython<number[][]>(
    String.raw`
import json, sys, torch
c = json.load(open(sys.argv[1]))
w = torch.tensor(c["w0"], requires_grad=True)
opt = torch.optim.SGD([w], lr=0.05, momentum=0.9, weight_decay=5e-4)
x, y = torch.tensor(c["x"]), torch.tensor(c["y"])
for _ in range(3):
    opt.zero_grad(); ((x @ w - y) ** 2).sum().backward(); opt.step()
print(json.dumps(w.tolist()))`,
    { x, y, w0 },
  );
  const w = tf.variable(tf.tensor2d(w0));
  const optimizer = new SgdMomentum([w], 0.05, 0.9, 5e-4);
  const [xt, yt] = [tf.tensor2d(x), tf.tensor2d(y)];
  for (let s = 0; s < 3; s++) optimizer.step(() => tf.sum(tf.square(tf.sub(tf.matMul(xt, w), yt)))).dispose();
  const ours = (await w.array()) as number[][];
  optimizer.dispose();
  tf.dispose([w, xt, yt]);
  ours.flat().forEach((v, i) => assert.ok(Math.abs(v - reference.flat()[i]!) < 1e-5, `${v} vs torch ${reference.flat()[i]}`));
});
