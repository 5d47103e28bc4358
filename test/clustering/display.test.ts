import assert from "node:assert/strict";
import { test } from "node:test";
import { dcvcd } from "../../lib/clustering/index.js";
import type { RowMatrix } from "../../lib/clustering/graph/index.js";
import { runPython, testRng } from "./python.js";

const { figures } = dcvcd;

function blobs(n: number, dims: number, k: number, seed: number): { z: RowMatrix; truth: Int32Array } {
  const rand = testRng(seed);
  const centers = Array.from({ length: k }, () => Array.from({ length: dims }, () => rand() * 4 - 2));
  const data = new Float32Array(n * dims);
  const truth = Int32Array.from({ length: n }, (_, i) => i % k);
  for (let i = 0; i < n; i++) for (let j = 0; j < dims; j++) data[i * dims + j] = centers[i % k]![j]! + (rand() - 0.5);
  return { z: { data, rows: n, cols: dims }, truth };
}

test("project2d finds numpy's first two principal axes", () => {
  const { z } = blobs(300, 6, 3, 1);
  const { x, y } = figures.project2d(z);
  const reference = runPython<number[][]>(
    String.raw`
import json, sys, numpy as np
c = json.load(open(sys.argv[1]))
a = np.array(c["data"], dtype=np.float64).reshape(c["rows"], c["cols"])
a -= a.mean(0)
_, _, vt = np.linalg.svd(a, full_matrices=False)
print(json.dumps((a @ vt[:2].T).T.tolist()))`,
    { ...z, data: Array.from(z.data) },
  );
  for (const [ours, theirs] of [[x, reference[0]!], [y, reference[1]!]] as const) {
    // Axes are defined up to sign.
    const sign = Math.sign(ours.reduce((s, v, i) => s + v * theirs[i]!, 0));
    ours.forEach((v, i) => assert.ok(Math.abs(sign * v - theirs[i]!) < 1e-3));
  }
});

test("the DCvCD figures are plain JSON with one animation frame per round", async () => {
  const { z, truth } = blobs(500, 8, 4, 2);
  const result = await dcvcd.run({ embeddings: z, truth }, { k: 4, graph: { kind: "threshold", threshold: 0.6, cap: 15 } });
  const points = figures.project2d(result.embeddings);
  const names = ["a", "b", "c", "d"];
  const rounds = figures.communityRounds(points, result.rounds, { maxPoints: 200, names });
  assert.equal(rounds.frames!.length, result.rounds.length);
  for (const frame of rounds.frames!) {
    assert.deepEqual(frame.data.map((t) => t.name), ["pool", "a", "b", "c", "d"], "same traces in every frame");
    assert.equal(frame.data.reduce((s, t) => s + (t.x as number[]).length, 0), 200, "the sample, every frame");
  }
  const slider = (rounds.layout.sliders as Array<{ steps: unknown[] }>)[0]!;
  assert.equal(slider.steps.length, result.rounds.length);
  const pool = figures.poolSizeFigure(result.rounds);
  assert.deepEqual(pool.data[0]!.y, result.rounds.map((r) => r.poolAfter));
  const purity = figures.purityFigure(result.rounds);
  assert.deepEqual(purity.data.map((t) => t.name), ["main purity", "ACC", "NMI", "ARI"]);
  const terms = figures.mergeTermsFigure(result.rounds, names);
  const merges = result.rounds.reduce((s, r) => s + r.merges.length, 0);
  assert.equal((terms.data[0]!.x as number[]).length, merges);
  const byClass = figures.labelScatter(points, truth, { names, maxPoints: 100 });
  assert.equal(byClass.data.length, 4);
  for (const figure of [rounds, pool, purity, terms, byClass]) assert.doesNotThrow(() => JSON.parse(JSON.stringify(figure)));
  assert.throws(() => figures.communityRounds(points, []), /no rounds/);
});
