import assert from "node:assert/strict";
import { test } from "node:test";
import { leiden, louvain, modularity, moveDelta } from "../../lib/clustering/community/index.js";
import { detect } from "../../lib/clustering/community/leiden.js";
import { levelGraph } from "../../lib/clustering/community/level-graph.js";
import { refine } from "../../lib/clustering/community/refine.js";
import { Random } from "../../lib/clustering/random.js";
import { toCsr, type EdgeList } from "../../lib/clustering/graph/index.js";
import { runPython, testRng } from "./python.js";

/** A random weighted graph with planted groups (denser inside), each edge once. */
function plantedGraph(n: number, groups: number, pIn: number, pOut: number, seed: number): EdgeList {
  const rand = testRng(seed);
  const src: number[] = [];
  const dst: number[] = [];
  const weight: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (rand() < (i % groups === j % groups ? pIn : pOut)) {
        src.push(i);
        dst.push(j);
        weight.push(0.1 + rand());
      }
    }
  }
  return { n, src: Uint32Array.from(src), dst: Uint32Array.from(dst), weight: Float64Array.from(weight) };
}

/** Independent connectivity check: BFS per community over edges whose ends share it. */
function disconnectedCommunities(g: EdgeList, membership: Int32Array): number {
  const adjacency = Array.from({ length: g.n }, () => [] as number[]);
  for (let e = 0; e < g.src.length; e++) {
    adjacency[g.src[e]!]!.push(g.dst[e]!);
    adjacency[g.dst[e]!]!.push(g.src[e]!);
  }
  const seen = new Set<number>();
  const visited = new Uint8Array(g.n);
  let bad = 0;
  for (let s = 0; s < g.n; s++) {
    if (visited[s]) continue;
    if (seen.has(membership[s]!)) bad++;
    seen.add(membership[s]!);
    const queue = [s];
    visited[s] = 1;
    while (queue.length) {
      const v = queue.pop()!;
      for (const u of adjacency[v]!) if (!visited[u] && membership[u] === membership[s]) (visited[u] = 1), queue.push(u);
    }
  }
  return bad;
}

test("the predicted modularity change of a move equals the actual change", () => {
  const rand = testRng(11);
  for (let trial = 0; trial < 30; trial++) {
    const g = plantedGraph(40, 4, 0.3, 0.05, 100 + trial);
    const csr = toCsr(g);
    const membership = Int32Array.from({ length: g.n }, () => Math.floor(rand() * 6));
    for (const resolution of [0.5, 1, 2]) {
      for (let k = 0; k < 10; k++) {
        const v = Math.floor(rand() * g.n);
        const target = k === 0 ? 99 : Math.floor(rand() * 6); // 99: a new, empty community
        const before = modularity(csr, membership, { resolution });
        const predicted = moveDelta(csr, membership, v, target, { resolution });
        const moved = Int32Array.from(membership);
        moved[v] = target;
        const actual = modularity(csr, moved, { resolution }) - before;
        assert.ok(Math.abs(predicted - actual) < 1e-12, `trial ${trial}, γ=${resolution}: predicted ${predicted}, actual ${actual}`);
      }
    }
  }
});

test("modularity agrees with igraph's on random graphs, partitions and resolutions", () => {
  const rand = testRng(5);
  const cases = Array.from({ length: 20 }, (_, c) => {
    const g = plantedGraph(30 + c * 3, 3, 0.4, 0.05, 200 + c);
    const membership = Array.from({ length: g.n }, () => Math.floor(rand() * 5));
    return { g, membership, resolution: [0.3, 1, 1.7][c % 3]! };
  });
  const reference = runPython<number[]>(
    String.raw`
import json, sys, igraph as ig
out = []
for c in json.load(open(sys.argv[1])):
    g = ig.Graph(n=c["n"], edges=list(zip(c["src"], c["dst"])))
    # Graph.modularity of python-igraph 0.10.2 drops the resolution; GraphBase.modularity honours it.
    out.append(ig.GraphBase.modularity(g, c["membership"], weights=c["weight"], resolution=c["resolution"]))
print(json.dumps(out))`,
    cases.map(({ g, membership, resolution }) => ({
      n: g.n, src: Array.from(g.src), dst: Array.from(g.dst), weight: Array.from(g.weight), membership, resolution,
    })),
  );
  cases.forEach(({ g, membership, resolution }, i) => {
    const q = modularity(g, membership, { resolution });
    assert.ok(Math.abs(q - reference[i]!) < 1e-12, `case ${i}: ${q} vs igraph ${reference[i]}`);
  });
});

test("Leiden finds planted communities, every one connected, and is deterministic per seed", () => {
  for (let seed = 0; seed < 5; seed++) {
    const g = plantedGraph(120, 4, 0.5, 0.01, seed);
    const result = leiden(g, { seed });
    assert.equal(disconnectedCommunities(g, result.membership), 0);
    assert.ok(Math.abs(result.modularity - modularity(g, result.membership)) < 1e-12, "reported modularity is the membership's");
    // The planted groups are i mod 4: each found community should be one of them.
    const found = new Map<number, Set<number>>();
    result.membership.forEach((c, i) => found.set(c, (found.get(c) ?? new Set()).add(i % 4)));
    assert.equal(found.size, 4);
    for (const classes of found.values()) assert.equal(classes.size, 1);
    assert.deepEqual(leiden(g, { seed }).membership, result.membership, "same seed, same result");
  }
});

test("Leiden reaches leidenalg's modularity and keeps communities connected on sparse graphs", () => {
  // Sparse, weakly structured graphs are where Louvain leaves disconnected communities.
  const graphs = [0, 1, 2].map((s) => plantedGraph(600, 12, 0.03, 0.004, 300 + s));
  const reference = runPython<number[]>(
    String.raw`
import json, sys, igraph as ig, leidenalg as la
out = []
for c in json.load(open(sys.argv[1])):
    g = ig.Graph(n=c["n"], edges=list(zip(c["src"], c["dst"])))
    g.es["weight"] = c["weight"]
    qs = [la.find_partition(g, la.ModularityVertexPartition, weights="weight", seed=s).quality() for s in range(3)]
    out.append(sorted(qs)[1])
print(json.dumps(out))`,
    graphs.map((g) => ({ n: g.n, src: Array.from(g.src), dst: Array.from(g.dst), weight: Array.from(g.weight) })),
  );
  graphs.forEach((g, i) => {
    const qs = [0, 1, 2].map((seed) => leiden(g, { seed }));
    for (const r of qs) assert.equal(disconnectedCommunities(g, r.membership), 0);
    const median = qs.map((r) => r.modularity).sort()[1]!;
    assert.ok(median >= reference[i]! - 0.005, `graph ${i}: median Q ${median} vs leidenalg ${reference[i]}`);
    // Leiden's own refinement keeps them connected: the final safety check never had to split.
    for (const seed of [0, 1, 2]) assert.equal(detect(toCsr(g), { seed }, true).repaired, 0);
    const lv = louvain(g, { seed: 0 });
    assert.equal(disconnectedCommunities(g, lv.membership), 0, "Louvain's result is split into connected parts");
  });
});

test("refinement splits even a disconnected parent community into connected sub-communities", () => {
  for (let seed = 0; seed < 10; seed++) {
    const g = plantedGraph(200, 8, 0.08, 0.01, 400 + seed);
    // Parents that ignore the structure: two big, certainly disconnected-inside communities.
    const parent = Int32Array.from({ length: g.n }, (_, i) => (i < 100 ? 0 : 1));
    const { refined, count } = refine(levelGraph(toCsr(g)), parent, 1, 0.01, new Random(seed));
    assert.equal(disconnectedCommunities(g, refined), 0);
    assert.ok(count < g.n, "refinement merged some nodes");
    for (let v = 0; v < g.n; v++) {
      const u = refined.indexOf(refined[v]!);
      assert.equal(parent[u], parent[v], "a refined community stays inside its parent");
    }
  }
});

test("resolution, initial partitions, edgeless nodes and empty graphs", () => {
  const g = plantedGraph(120, 4, 0.5, 0.01, 9);
  const coarse = leiden(g, { resolution: 0.05 });
  const fine = leiden(g, { resolution: 5 });
  const count = (m: Int32Array) => new Set(m).size;
  assert.ok(count(coarse.membership) < 4 && count(fine.membership) > 4);
  const warm = leiden(g, { initial: Array.from({ length: 120 }, (_, i) => i % 4) });
  assert.equal(count(warm.membership), 4);
  // Two isolated nodes appended: each alone.
  const padded = { ...g, n: 122 };
  const r = leiden(padded);
  assert.notEqual(r.membership[120], r.membership[121]);
  assert.equal(r.membership.filter((c) => c === r.membership[120]).length, 1);
  const empty = leiden({ n: 0, src: new Uint32Array(0), dst: new Uint32Array(0), weight: new Float32Array(0) });
  assert.deepEqual(empty, { membership: new Int32Array(0), modularity: 0 });
  const edgeless = leiden({ n: 3, src: new Uint32Array(0), dst: new Uint32Array(0), weight: new Float32Array(0) });
  assert.deepEqual(Array.from(edgeless.membership).sort(), [0, 1, 2]);
});

test("bad graphs and options are rejected with errors that say what to do", () => {
  const ok = { n: 2, src: Uint32Array.of(0), dst: Uint32Array.of(1), weight: Float32Array.of(1) };
  assert.throws(() => leiden({ ...ok, src: [0] as never }), /community.leiden graph: src and dst must be Uint32Array/);
  assert.throws(() => leiden({ ...ok, weight: Float32Array.of(0) }), /weight 0; weights must be finite and positive/);
  assert.throws(() => leiden({ ...ok, n: 1 }), /edge 0 \(0–1\) names a node ≥ n = 1/);
  assert.throws(() => leiden({ ...ok, src: Uint32Array.of(0, 1) }), /src, dst and weight must have one entry per edge, got 2, 1 and 1/);
  assert.throws(() => louvain({ ...ok, dst: Uint32Array.of(5) }), /community.louvain graph: edge 0 \(0–5\) names a node ≥ n = 2/);
  assert.throws(() => leiden(ok, { resolution: -1 }), /resolution must be a finite number ≥ 0/);
  assert.throws(() => leiden(ok, { iterations: 0 }), /iterations must be a non-zero integer/);
  assert.throws(() => leiden(ok, { initial: [0] }), /initial: membership must have one community id per node \(2\)/);
  assert.throws(() => modularity(ok, [0, 1, 2]), /one community id per node/);
});
