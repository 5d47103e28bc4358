import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { engine, tf } from "../../lib/index.js";
import { CLUENET_ABLATIONS, meanSpread, runAblation, type AblationRow } from "../../lib/train/index.js";
import { syntheticSource, tinyCluenet } from "./helpers.js";

before(async () => {
  await engine.ready();
});

describe("ablation runner", () => {
  test("mean and sample standard deviation", () => {
    assert.deepEqual(meanSpread([0.5]), { mean: 0.5, std: 0 });
    const { mean, std } = meanSpread([0.6, 0.7, 0.8]);
    assert.ok(Math.abs(mean - 0.7) < 1e-12 && Math.abs(std - 0.1) < 1e-12);
    assert.ok(Number.isNaN(meanSpread([]).mean));
  });

  test("every CLUENet ablation row builds a model that differs from the baseline", () => {
    const base = tinyCluenet({ overrides: { clusters: 4 } }); // the helper's 2×2 would hide the cluster-count row
    const baseNames = base.namedParameters().map(([n]) => n).join();
    for (const row of CLUENET_ABLATIONS.slice(1)) {
      const model = tinyCluenet({ overrides: { clusters: 4, ...row.overrides } });
      const differs = model.namedParameters().map(([n]) => n).join() !== baseNames || JSON.stringify(model.config) !== JSON.stringify(base.config);
      assert.ok(differs, `row "${row.name}" builds the baseline`);
      model.dispose();
    }
    base.dispose();
  });

  test("trains every row for every seed under one budget, and tabulates mean ± spread; leaks nothing", async () => {
    const rows: AblationRow[] = [CLUENET_ABLATIONS[0]!, CLUENET_ABLATIONS.find((r) => r.name === "no gate")!];
    const val = syntheticSource(24, 4, 12, { seed: 8, shuffle: false });
    const sources: Array<{ dispose(): void }> = [];
    const before = tf.memory().numTensors;
    const built: string[] = [];
    const result = await runAblation({
      rows,
      seeds: [0, 1],
      build: (row, seed) => {
        built.push(`${row.name}/${seed}`);
        return tinyCluenet({ seed, overrides: row.overrides });
      },
      train: (seed) => {
        const s = syntheticSource(32, 4, 8, { seed });
        sources.push(s);
        return s;
      },
      validation: val,
      epochs: 2,
      maxSteps: 3,
      trainer: { optimizer: { lr: 5e-3 } },
      signal: null,
      live: false,
    });
    sources.forEach((s) => s.dispose());
    assert.equal(tf.memory().numTensors, before, "models and optimizers are freed after each run");
    assert.deepEqual(built, ["CLUENet/0", "CLUENet/1", "no gate/0", "no gate/1"]);
    assert.equal(result.stopped, false);
    for (const row of result.rows) {
      assert.equal(row.runs.length, 2);
      assert.ok(row.runs.every((r) => r.steps === 3));
      assert.deepEqual(row.top1, meanSpread(row.runs.map((r) => r.top1)));
      assert.ok(row.params! > 0);
    }
    assert.ok(result.rows[1]!.params! < result.rows[0]!.params!, "no gate has fewer parameters");
    const text = String(result.table());
    assert.match(text, /row\s+change\s+params\s+top-1 %\s+top-3 %\s+Δ top-1\s+runs\s+time/);
    assert.match(text, /CLUENet\s+all innovations on\s+\d+\s+[\d.]+ ± [\d.]+/);
    assert.match(text, /no gate .* 2\/2/);
    val.dispose();
  });

  test("the signal stops between runs and returns what finished", async () => {
    const controller = new AbortController();
    const val = syntheticSource(8, 4, 8, { seed: 8, shuffle: false });
    const data = syntheticSource(16, 4, 8, { seed: 1 });
    let runs = 0;
    const result = await runAblation({
      rows: CLUENET_ABLATIONS.slice(0, 3),
      seeds: [0],
      build: (row, seed) => tinyCluenet({ seed, overrides: row.overrides }),
      train: () => data,
      validation: val,
      epochs: 1,
      callbacks: () => [{ onTrainEnd: () => void (++runs === 2 && controller.abort()) }],
      signal: controller.signal,
      live: false,
    });
    assert.equal(result.stopped, true);
    assert.deepEqual(result.rows.map((r) => r.runs.length), [1, 1, 0]);
    assert.match(String(result.table()), /0\/1/);
    await assert.rejects(runAblation({ rows: [CLUENET_ABLATIONS[0]!, CLUENET_ABLATIONS[0]!], build: () => tinyCluenet(), train: () => data, validation: val, epochs: 1 }), /two rows are named "CLUENet"/);
    data.dispose();
    val.dispose();
  });
});
