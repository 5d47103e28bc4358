import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConstantRate, WarmupCosine, scheduleFromJSON, warmupCosine } from "../../lib/train/index.js";

describe("warmup + cosine (timm's CosineLRScheduler as the official scripts use it)", () => {
  const base = 1.5e-2;
  const s = warmupCosine({ epochs: 105, warmupEpochs: 5, minLr: 1e-5, warmupLr: 1e-6 });

  test("warmup rises linearly from warmupLr to the base rate", () => {
    assert.equal(s.rate(base, 0), 1e-6);
    assert.ok(Math.abs(s.rate(base, 2) - (1e-6 + (2 * (base - 1e-6)) / 5)) < 1e-15);
  });

  test("without a warmup prefix the cosine runs over all 105 epochs: at epoch 5 it is already past its top", () => {
    const at5 = 1e-5 + 0.5 * (base - 1e-5) * (1 + Math.cos((Math.PI * 5) / 105));
    assert.ok(Math.abs(s.rate(base, 5) - at5) < 1e-15);
    assert.ok(s.rate(base, 5) < base);
    const perStep = warmupCosine({ epochs: 105, warmupEpochs: 5, granularity: "step" });
    assert.ok(Math.abs(perStep.rate(base, 52.5) - (1e-5 + 0.5 * (base - 1e-5))) < 1e-15, "half way down at the middle of the cycle");
    assert.equal(s.rate(base, 105), 1e-5);
    assert.equal(s.rate(base, 300), 1e-5);
  });

  test("per-epoch granularity holds the rate through an epoch; per-step follows fractional epochs", () => {
    assert.equal(s.rate(base, 7.9), s.rate(base, 7));
    const smooth = warmupCosine({ epochs: 10, warmupEpochs: 1, granularity: "step" });
    assert.ok(Math.abs(smooth.rate(1e-3, 0.5) - (1e-6 + 0.5 * (1e-3 - 1e-6))) < 1e-15);
    assert.ok(smooth.rate(1e-3, 7.9) < smooth.rate(1e-3, 7));
  });

  test("with a warmup prefix the cosine starts at the base rate when warmup ends", () => {
    const p = warmupCosine({ epochs: 10, warmupEpochs: 2, warmupPrefix: true });
    assert.equal(p.rate(1e-3, 2), 1e-3);
    assert.equal(p.rate(1e-3, 10), 1e-5);
  });

  test("a schedule survives its JSON form; bad options are errors", () => {
    const back = scheduleFromJSON(JSON.parse(JSON.stringify(s)) as Record<string, unknown>);
    assert.ok(back instanceof WarmupCosine);
    for (const t of [0, 3, 5, 50, 104, 110]) assert.equal(back.rate(base, t), s.rate(base, t));
    assert.ok(scheduleFromJSON({ kind: "constant" }) instanceof ConstantRate);
    assert.throws(() => scheduleFromJSON({ kind: "step" }), /unknown learning-rate schedule "step"/);
    assert.throws(() => warmupCosine({ epochs: 0 }), /epochs must be a positive number, got 0/);
    assert.throws(() => warmupCosine({ epochs: 5, warmupEpochs: 5, warmupPrefix: true }), /leave no cosine/);
    assert.throws(() => warmupCosine({ epochs: 5, granularity: "batch" as never }), /granularity must be "epoch" or "step"/);
  });
});
