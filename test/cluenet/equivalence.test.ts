/**
 * Numerical equivalence with the official model: for every registry config (and the ablation
 * switches at CPU size), the PyTorch transcription of the official code (python3-torch, fp32
 * attention) writes weights, an input, logits, assignments and gradients; our model loads the
 * weights and must reproduce the logits within 1e-4, every argmax exactly, and the gradients.
 * The other way round, PyTorch loads the weights we save and reproduces our logits.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { cluenet, engine, tf } from "../../lib/index.js";
import { serializeSafetensors } from "../../lib/nn/index.js";
import { ROOT, run } from "../helpers/run.js";
import {
  PYTHON,
  countDifferences, floatTensor, floats, ints, makeFixtures, maxAbsDiff, removeFixtures, runReference,
  type Fixture, type FixtureSpec,
} from "./reference.js";

const TOLERANCE = 1e-4;

/** Overrides sent to Python: the resolved fields, so both sides build the same network. */
function resolvedOverrides(name: string, numClasses: number, overrides: Record<string, unknown>): Record<string, unknown> {
  const c = cluenet.resolve(name, { numClasses, ...overrides });
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(overrides)) out[key] = c[key as keyof typeof c];
  if ("clusters" in overrides || "folds" in overrides) Object.assign(out, { clusters: c.clusters, folds: c.folds });
  return out;
}

interface Case extends FixtureSpec {
  label: string;
}

const ABLATIONS: Array<[string, Record<string, unknown>]> = [
  ["no gate, no sharing, FEC pool", { gate: false, shareAssignment: false, pool: "fec" }],
  ["local hard aggregation in 2×2 folds, strided-conv pool", { aggregation: "local-hard", folds: 2, pool: "conv" }],
  ["fixed temperature 0.5, 2×2 clusters", { learnableTemperature: false, temperature: 0.5, clusters: 2 }],
  ["Context Clusters mixer in the CLUENet skeleton", { mixer: "coc", folds: [2, 2, 1, 1] }],
];

const CASES: Case[] = [
  { label: "CLUE_nano_FMNIST", name: "CLUE_nano_FMNIST", numClasses: 10, batch: 3, grads: true, pth: true },
  { label: "CLUE_mini_CIFAR", name: "CLUE_mini_CIFAR", numClasses: 100, batch: 2, grads: true },
  { label: "CoC_mini_CIFAR", name: "CoC_mini_CIFAR", numClasses: 100, batch: 2, grads: true },
  { label: "CLUE_mini", name: "CLUE_mini", numClasses: 100, batch: 1, minGap: 1e-6 },
  { label: "CLUE_tiny", name: "CLUE_tiny", numClasses: 100, batch: 1 },
  { label: "CLUE_small", name: "CLUE_small", numClasses: 100, batch: 1 },
  { label: "CLUE_base", name: "CLUE_base", numClasses: 100, batch: 1 },
  ...ABLATIONS.map(([label, overrides], i): Case => ({
    label: `CLUE_nano_FMNIST, ${label}`,
    name: "CLUE_nano_FMNIST",
    numClasses: 10,
    batch: 2,
    seed: 10 + i,
    grads: i === 1,
    overrides: resolvedOverrides("CLUE_nano_FMNIST", 10, overrides),
  })),
];

describe("equivalence with the official PyTorch model", () => {
  let root = "";
  let fixtures: Fixture[] = [];

  before(async () => {
    await engine.ready();
    ({ root, fixtures } = await makeFixtures(CASES));
  });
  after(async () => {
    if (root) await removeFixtures(root);
  });

  test("every registry config is covered", () => {
    const covered = new Set(CASES.filter((c) => !c.overrides).map((c) => c.name));
    assert.deepEqual([...covered].sort(), cluenet.configs().map((c) => c.name).sort());
  });

  CASES.forEach((c, i) => {
    test(`${c.label}: logits within ${TOLERANCE}, identical assignments${c.grads ? ", gradients" : ""}`, async () => {
      const f = fixtures[i]!;
      const model = await cluenet.loadPretrained(c.name, f.weights, c.overrides ?? {});
      try {
        assert.equal(model.countParams(), f.params, "parameter count differs from PyTorch's");
        const x = floatTensor(f.io, "input") as tf.Tensor4D;
        const trace = model.trace(x);
        const logits = await trace.logits.data();
        const diff = maxAbsDiff(logits, floats(f.io, "logits"));
        assert.ok(diff <= TOLERANCE, `max |logit difference| ${diff} > ${TOLERANCE}`);
        // Ours are [B, heads, H, W]; PyTorch's [(B heads), N]: the same order.
        for (const [s, stage] of trace.stages.entries()) {
          assert.equal(countDifferences(await stage.index.data(), ints(f.io, `stage${s}.index`)), 0, `stage ${s} assignment differs`);
        }
        for (const [p, pool] of trace.pools.entries()) {
          if (pool) assert.equal(countDifferences(await pool.index.data(), ints(f.io, `pool${p}.index`)), 0, `pool ${p} argmax differs`);
        }
        tf.dispose(trace as unknown as tf.TensorContainer);
        if (f.grads) {
          const probe = floatTensor(f.io, "probe");
          const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(model.apply(x), probe)) as tf.Scalar);
          for (const [name, p] of model.namedParameters()) {
            const g = grads[p.variable.name];
            assert.ok(g, `no gradient for ${name}`);
            const official = p.layout.toOfficial(g);
            const ours = await official.data();
            official.dispose();
            const theirs = floats(f.grads, name);
            const scale = theirs.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
            const err = maxAbsDiff(ours, theirs);
            assert.ok(err <= 1e-5 + 1e-3 * scale, `gradient of ${name}: max error ${err} at scale ${scale}`);
          }
          tf.dispose([value, grads, probe]);
        }
        x.dispose();
      } finally {
        model.dispose();
      }
    });
  });

  test("scripts/pth-to-safetensors.py turns a training checkpoint (.pth) into weights we load", async () => {
    const f = fixtures[0]!;
    const converted = join(f.dir, "converted.safetensors");
    const args = [resolve(ROOT, "scripts/pth-to-safetensors.py"), join(f.dir, "checkpoint.pth"), converted];
    // the checkpoint holds a list of floats, as the official training script's do: torch 1.13's
    // weights-only loader refuses them, so the script asks for --trust-pickle (newer torch loads it)
    const safe = await run(PYTHON, args);
    if (safe.code !== 0) assert.match(safe.stderr, /rerun with --trust-pickle if you trust the file/);
    const r = safe.code === 0 ? safe : await run(PYTHON, [...args, "--trust-pickle"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /wrote \d+ tensors \(from 'model_state_dict'\)/);
    const model = await cluenet.loadPretrained("CLUE_nano_FMNIST", converted);
    const x = floatTensor(f.io, "input") as tf.Tensor4D;
    const logits = model.predict(x);
    assert.ok(maxAbsDiff(await logits.data(), floats(f.io, "logits")) <= TOLERANCE);
    tf.dispose([x, logits]);
    model.dispose();
  });

  test("PyTorch loads the weights we save and reproduces our logits", async () => {
    const specs: Array<{ name: string; numClasses: number; weights: string; io: string }> = [];
    for (const [name, numClasses] of [["CLUE_nano_FMNIST", 10], ["CLUE_mini_CIFAR", 100]] as const) {
      const model = cluenet.create(name, { numClasses, seed: 7 });
      const [h, w] = model.config.inputSize;
      const x = tf.randomNormal([2, h, w, model.config.inChannels], 0, 1, "float32", 3) as tf.Tensor4D;
      const logits = model.predict(x);
      const weights = join(root, `ours-${name}.safetensors`);
      const io = join(root, `ours-${name}-io.safetensors`);
      await model.saveWeights(weights);
      const data = (t: tf.Tensor): { shape: number[]; data: Float32Array } => ({ shape: t.shape, data: t.dataSync() as Float32Array });
      await writeFile(io, serializeSafetensors([["input", data(x)], ["logits", data(logits)]]));
      tf.dispose([x, logits]);
      model.dispose();
      specs.push({ name, numClasses, weights, io });
    }
    const answers = await runReference<{ maxAbsDiff: number; metadata: Record<string, string> }>("check", specs);
    answers.forEach((a, i) => {
      assert.ok(a.maxAbsDiff <= TOLERANCE, `${specs[i]!.name}: PyTorch's logits differ by ${a.maxAbsDiff}`);
      assert.equal(a.metadata.format, "pt");
    });
  });
});
