/**
 * `cluelab train` end to end on the real Fashion-MNIST (Debian's dataset-fashion-mnist): a short
 * run with a step budget, JSON-lines log, final evaluation and checkpoint, then `--resume`.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CLI, run } from "../helpers/run.js";

// A narrow CLUE_nano_FMNIST (8 channels everywhere) keeps the run short on a 2-core machine.
const SMALL = ["--set", "dims=[8,8,8,8]", "--set", "heads=[1,1,1,1]", "--set", "headDims=[8,8,8,8]", "--set", "mlpRatios=[1,1,1,1]"];

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "cluelab-cli-train-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface LogLine {
  event: string;
  step?: number;
  loss?: number;
  top1?: number;
  top3?: number;
  validation?: { top1: number };
}

async function logOf(out: string): Promise<LogLine[]> {
  return (await readFile(join(out, "log.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as LogLine);
}

describe("cluelab train", () => {
  test("trains with the Fashion-MNIST recipe, logs JSON lines, evaluates, checkpoints; --resume continues", async () => {
    const out = join(dir, "run");
    const common = ["--train-subset", "48", "--eval-subset", "40", "--workers", "0"];
    const first = await run(process.execPath, [CLI, "train", "--data", "fashion-mnist", "--epochs", "2", "--batch", "12", "--max-steps", "2", "--out", out, ...SMALL, ...common], { timeoutMs: 240_000 });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /training CLUE_nano_FMNIST \([\d,]+ parameters\) on Fashion-MNIST \(train\) \[subset of 48\]/);
    assert.match(first.stdout, /final: top-1 [\d.]+%  top-3 [\d.]+%  loss [\d.]+ on 40 images \(maxSteps at step 2\)/);
    let log = await logOf(out);
    assert.deepEqual(log.map((l) => l.event), ["begin", "step", "step", "checkpoint", "end", "final"]);
    assert.ok(log.filter((l) => l.event === "step").every((l) => Number.isFinite(l.loss)));
    const final = JSON.parse(await readFile(join(out, "final.json"), "utf8")) as { top1: number; top3: number; evaluated: number; perClass: Record<string, number> };
    assert.equal(final.evaluated, 40);
    assert.ok(final.top3 >= final.top1);
    assert.equal(Object.keys(final.perClass)[0], "T-shirt/top");
    assert.deepEqual((await readdir(out)).sort(), ["final.json", "latest.json", "log.jsonl", "step-00000002"]);

    // Settings come from the checkpoint; a flag that would change them is refused.
    const refused = await run(process.execPath, [CLI, "train", "--resume", out, "--lr", "0.1"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /drop --lr \(only --epochs, --max-steps, --out and --workers may change\)/);

    const second = await run(process.execPath, [CLI, "train", "--resume", out, "--json"], { timeoutMs: 240_000 });
    assert.equal(second.code, 0, second.stderr);
    const lines = second.stdout.trim().split("\n").map((l) => JSON.parse(l) as LogLine);
    assert.deepEqual(lines.map((l) => l.event).filter((e) => e !== "step" && e !== "checkpoint"), ["begin", "epoch", "epoch", "end", "final"]);
    assert.deepEqual(lines.filter((l) => l.event === "step").map((l) => l.step), [3, 4, 5, 6, 7, 8]);
    log = await logOf(out);
    const epochs = log.filter((l) => l.event === "epoch");
    assert.equal(epochs.length, 2);
    assert.equal(lines.at(-1)!.top1, epochs.at(-1)!.validation!.top1, "the final evaluation of a completed run is its last validation");
  });

  test("bad input: a missing --data, an unknown dataset, a resume folder without a checkpoint", async () => {
    const none = await run(process.execPath, [CLI, "train"]);
    assert.match(none.stderr, /--data is required/);
    const unknown = await run(process.execPath, [CLI, "train", "--data", "imagenet21k"]);
    assert.match(unknown.stderr, /unknown data "imagenet21k"; expected one of cifar100, cifar10, mini-imagenet, fashion-mnist, mnist/);
    const empty = await run(process.execPath, [CLI, "train", "--resume", dir]);
    assert.match(empty.stderr, /holds no checkpoint/);
  });
});

describe("cluelab ablate", () => {
  test("trains the chosen rows for every seed and prints the table of mean ± spread; writes JSON", async () => {
    const json = join(dir, "ablation.json");
    const result = await run(
      process.execPath,
      [CLI, "ablate", "--data", "fashion-mnist", "--rows", "CLUENet,no gate", "--seeds", "0,1", "--max-steps", "1", "--batch", "8", "--train-subset", "16", "--eval-subset", "16", "--workers", "0", "--json", json, ...SMALL],
      { timeoutMs: 240_000 },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /run 4\/4: no gate, seed 1: 1 steps/);
    assert.match(result.stdout, /CLUENet\s+all innovations on\s+\d+\s+[\d.]+ ± [\d.]+\s+[\d.]+ ± [\d.]+\s+2\/2/);
    const saved = JSON.parse(await readFile(json, "utf8")) as { rows: Array<{ runs: unknown[] }> };
    assert.deepEqual(saved.rows.map((r) => r.runs.length), [2, 2]);
    const bad = await run(process.execPath, [CLI, "ablate", "--data", "fashion-mnist", "--rows", "no brain"]);
    assert.match(bad.stderr, /unknown row "no brain"; the rows are: CLUENet, hard local aggregation/);
  });
});
