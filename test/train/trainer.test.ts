import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { engine, tf } from "../../lib/index.js";
import { parseSafetensors } from "../../lib/nn/index.js";
import { CELL_ABORT_SIGNAL } from "../../lib/display/protocol.js";
import { Trainer, type BatchSource, type Callback, type TrainableModel, type TrainerOptions } from "../../lib/train/index.js";
import { TinyMlp, firstDifference, syntheticSource, tinyCluenet, weightsOf } from "./helpers.js";

let dir: string;
before(async () => {
  await engine.ready();
  dir = await mkdtemp(join(tmpdir(), "cluelab-train-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const quiet: Callback[] = [];

/** Everything that must continue exactly: per-step schedule, clipping, label smoothing, weight decay. */
const OPTIONS: TrainerOptions = {
  optimizer: { lr: 5e-3, weightDecay: 0.05 },
  schedule: { epochs: 3, warmupEpochs: 1, granularity: "step" },
  labelSmoothing: 0.1,
  clipGradNorm: 1,
};

async function uninterrupted(make: () => TrainableModel & { dispose(): void }, epochs: number, withValidation = false) {
  const model = make();
  const data = syntheticSource(48, 4, 8, { seed: 5 });
  const val = withValidation ? syntheticSource(16, 4, 8, { seed: 9, shuffle: false }) : undefined;
  const trainer = new Trainer(model, OPTIONS);
  const result = await trainer.fit({ train: data, epochs, callbacks: quiet, signal: null, ...(val ? { validation: val } : {}) });
  const weights = await weightsOf(model);
  trainer.dispose();
  model.dispose();
  data.dispose();
  val?.dispose();
  return { weights, result };
}

describe("Trainer", () => {
  test("a tiny CLUENet overfits a small batch", async () => {
    const model = tinyCluenet({ seed: 1 });
    const data = syntheticSource(16, 4, 16, { seed: 2 });
    const trainer = new Trainer(model, { optimizer: { lr: 1e-2, weightDecay: 0 } });
    const result = await trainer.fit({ train: data, epochs: 60, callbacks: quiet, signal: null });
    const evaluation = await trainer.evaluate(data);
    assert.equal(result.reason, "completed");
    assert.equal(result.step, 60);
    assert.equal(evaluation.top1, 1, `the model should fit its 16 images, got top-1 ${evaluation.top1}`);
    assert.equal(evaluation.top3, 1);
    assert.ok(evaluation.loss < 0.05, `loss ${evaluation.loss} after 60 steps on one batch`);
    assert.ok(result.history.steps[0]!.loss > 1, "it started from chance");
    trainer.dispose();
    model.dispose();
    data.dispose();
  });

  test("no tensors leak per training step (nor per evaluation); dispose frees the optimizer's moments", async () => {
    const model = tinyCluenet({ seed: 2, dropPathRate: 0.2 });
    const data = syntheticSource(32, 4, 8, { seed: 3 });
    tf.tidy(() => model.predict(tf.zeros([1, 8, 8, 1]))); // the model caches its coordinate channels on first use
    const start = tf.memory().numTensors;
    const counts: number[] = [];
    const trainer = new Trainer(model, { ...OPTIONS, schedule: { epochs: 2, warmupEpochs: 1 } });
    await trainer.fit({ train: data, validation: data, epochs: 2, signal: null, callbacks: [{ onStepEnd: () => void counts.push(tf.memory().numTensors) }] });
    assert.equal(counts.length, 8);
    assert.ok(counts.every((c) => c === counts[0]), `tensor count per step: ${counts.join(", ")}`);
    assert.equal(counts[0], start + 2 * model.trainableWeights.length, "only the two AdamW moments per variable stay");
    trainer.dispose();
    assert.equal(tf.memory().numTensors, start);
    model.dispose();
    data.dispose();
  });

  test("checkpoint and resume continue bit-identically (drop path in the model, clipping, label smoothing, step schedule)", async () => {
    const make = () => new TinyMlp(64, 32, 4, 3);
    const reference = await uninterrupted(make, 3);

    const first = make();
    const data = syntheticSource(48, 4, 8, { seed: 5 });
    const ckpt = join(dir, "mlp");
    const a = new Trainer(first, OPTIONS);
    const stopped = await a.fit({ train: data, epochs: 3, maxSteps: 8, checkpoint: { dir: ckpt }, callbacks: quiet, signal: null });
    assert.equal(stopped.reason, "maxSteps");
    assert.equal(stopped.step, 8);
    assert.equal(a.epoch, 1);
    assert.equal(a.batchInEpoch, 2, "stopped in the middle of the second epoch");
    a.dispose();
    first.dispose();

    const second = new TinyMlp(64, 32, 4, 99); // other initial weights and random stream: all must come from the checkpoint
    const b = await Trainer.resume(second, ckpt);
    assert.equal(b.step, 8);
    const done = await b.fit({ train: data, epochs: 3, callbacks: quiet, signal: null });
    assert.equal(done.reason, "completed");
    assert.equal(done.step, 18);
    assert.equal(firstDifference(await weightsOf(second), reference.weights), -1, "resumed weights differ from the uninterrupted run");
    assert.deepEqual(
      done.history.steps.map((s) => s.loss),
      reference.result.history.steps.map((s) => s.loss),
      "the loss curve of the resumed run differs",
    );
    assert.deepEqual(done.history.epochs.map((e) => e.trainLoss), reference.result.history.epochs.map((e) => e.trainLoss));
    b.dispose();
    second.dispose();
    data.dispose();
  });

  test("the real CLUENet resumes bit-identically too (drop path drawn from its exported random state), with validation in the loop", async () => {
    const make = () => tinyCluenet({ seed: 4, dropPathRate: 0.3 });
    const reference = await uninterrupted(make, 2, true);
    const first = make();
    const data = syntheticSource(48, 4, 8, { seed: 5 });
    const val = syntheticSource(16, 4, 8, { seed: 9, shuffle: false });
    const ckpt = join(dir, "cluenet");
    const a = new Trainer(first, OPTIONS);
    await a.fit({ train: data, validation: val, epochs: 2, maxSteps: 4, checkpoint: { dir: ckpt }, callbacks: quiet, signal: null });
    a.dispose();
    first.dispose();
    const second = tinyCluenet({ seed: 77, dropPathRate: 0.3 });
    const b = await Trainer.resume(second, ckpt);
    const done = await b.fit({ train: data, validation: val, epochs: 2, callbacks: quiet, signal: null });
    assert.equal(firstDifference(await weightsOf(second), reference.weights), -1);
    assert.deepEqual(done.validation, { ...reference.result.validation!, seconds: done.validation!.seconds });
    b.dispose();
    second.dispose();
    data.dispose();
    val.dispose();
  });

  test("the abort signal stops training between steps and leaves a usable model and a resumable checkpoint", async () => {
    const make = () => new TinyMlp(64, 32, 4, 3);
    const reference = await uninterrupted(make, 3);
    const model = make();
    const data = syntheticSource(48, 4, 8, { seed: 5 });
    const controller = new AbortController();
    const steps: number[] = [];
    const ckpt = join(dir, "aborted");
    const trainer = new Trainer(model, OPTIONS);
    const result = await trainer.fit({
      train: data,
      epochs: 3,
      signal: controller.signal,
      checkpoint: { dir: ckpt, everySteps: 100 },
      callbacks: [{ onStepEnd: (e) => {
        steps.push(e.step);
        if (e.step === 3) controller.abort();
      } }],
    });
    assert.equal(result.reason, "aborted");
    assert.deepEqual(steps, [1, 2, 3], "no step ran after the signal");
    assert.equal(trainer.step, 3);
    assert.match(result.checkpoint!, /step-00000003$/);
    const evaluation = await trainer.evaluate(data);
    assert.ok(Number.isFinite(evaluation.loss) && evaluation.count === 48, "the stopped model still evaluates");
    trainer.dispose();
    model.dispose();

    const resumedModel = make();
    const resumed = await Trainer.resume(resumedModel, ckpt);
    await resumed.fit({ train: data, epochs: 3, callbacks: quiet, signal: null });
    assert.equal(firstDifference(await weightsOf(resumedModel), reference.weights), -1, "the interrupted-then-resumed run differs from the uninterrupted one");
    resumed.dispose();
    resumedModel.dispose();
    data.dispose();
  });

  test("a data source that stops on the interrupt by throwing its AbortError ends the run as aborted, with a checkpoint", async () => {
    const model = new TinyMlp(64, 8, 4, 1);
    const data = syntheticSource(48, 4, 8, { seed: 5 });
    const controller = new AbortController();
    // As the datasets' loaders do inside the kernel: throw the cell signal's reason before the next batch.
    const throwing: BatchSource = {
      length: data.length,
      async *epoch(epoch, start) {
        for await (const batch of data.epoch(epoch, start)) {
          if (controller.signal.aborted) batch.dispose();
          controller.signal.throwIfAborted();
          yield batch;
        }
      },
    };
    const trainer = new Trainer(model, OPTIONS);
    const result = await trainer.fit({
      train: throwing,
      epochs: 3,
      signal: controller.signal,
      checkpoint: { dir: join(dir, "thrown") },
      callbacks: [{ onStepEnd: (e) => void (e.step === 2 && controller.abort()) }],
    });
    assert.equal(result.reason, "aborted");
    assert.equal(result.step, 2);
    assert.match(result.checkpoint!, /step-00000002$/);
    trainer.dispose();
    const fresh = new Trainer(model, OPTIONS);
    const broken: BatchSource = { length: 1, epoch: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error("disk on fire")) }) }) };
    await assert.rejects(fresh.fit({ train: broken, epochs: 3, callbacks: quiet, signal: null }), /disk on fire/, "other errors still surface");
    fresh.dispose();
    model.dispose();
    data.dispose();
  });

  test("by default the loop watches the running notebook cell's AbortSignal", async () => {
    const model = new TinyMlp(64, 8, 4, 1);
    const data = syntheticSource(48, 4, 8, { seed: 5 });
    const controller = new AbortController();
    const global = globalThis as Record<PropertyKey, unknown>;
    global[CELL_ABORT_SIGNAL] = controller.signal;
    try {
      const trainer = new Trainer(model, OPTIONS);
      const result = await trainer.fit({ train: data, epochs: 3, callbacks: [{ onStepEnd: (e) => void (e.step === 2 && controller.abort()) }] });
      assert.equal(result.reason, "aborted");
      assert.equal(result.step, 2);
      trainer.dispose();
    } finally {
      delete global[CELL_ABORT_SIGNAL];
      model.dispose();
      data.dispose();
    }
  });

  test("checkpoints: renamed into place, latest.json, the newest kept, weights in the official layout", async () => {
    const model = tinyCluenet({ seed: 5 });
    const data = syntheticSource(16, 4, 8, { seed: 5 });
    const ckpt = join(dir, "layout");
    const trainer = new Trainer(model, OPTIONS);
    const seen: string[] = [];
    await trainer.fit({ train: data, epochs: 3, checkpoint: { dir: ckpt, everySteps: 1, keep: 2 }, callbacks: [{ onCheckpoint: (e) => void seen.push(e.path) }], signal: null });
    assert.equal(seen.length, 6, "one checkpoint per step, none twice");
    assert.deepEqual((await readdir(ckpt)).sort(), ["latest.json", "step-00000005", "step-00000006"]);
    assert.deepEqual(JSON.parse(await readFile(join(ckpt, "latest.json"), "utf8")), { checkpoint: "step-00000006", step: 6 });
    const files = (await readdir(join(ckpt, "step-00000006"))).sort();
    assert.deepEqual(files, ["model.safetensors", "optimizer.safetensors", "trainer.json"]);
    const weights = parseSafetensors(await readFile(join(ckpt, "step-00000006", "model.safetensors")));
    assert.deepEqual([...weights.tensors.keys()], model.namedParameters().map(([n]) => n), "official names, in state_dict order");
    assert.deepEqual(weights.tensors.get("network.0.blocks.0.token_mixer.k.weight")!.shape, [8, 8, 1, 1], "official OIHW layout");
    const optimizer = parseSafetensors(await readFile(join(ckpt, "step-00000006", "optimizer.safetensors")));
    assert.ok(optimizer.tensors.has("exp_avg.head.weight") && optimizer.tensors.has("exp_avg_sq.head.weight"));
    const record = JSON.parse(await readFile(join(ckpt, "step-00000006", "trainer.json"), "utf8")) as Record<string, unknown>;
    assert.equal(record.step, 6);
    assert.deepEqual(record.schedule, { kind: "warmupCosine", epochs: 3, warmupEpochs: 1, minLr: 1e-5, warmupLr: 1e-6, warmupPrefix: false, granularity: "step" });
    trainer.dispose();

    // A new run in the same folder: it prunes only its own checkpoints and replaces a same-named one.
    const again = new Trainer(model, OPTIONS);
    await again.fit({ train: data, epochs: 1, checkpoint: { dir: ckpt, everySteps: 1, keep: 1 }, callbacks: quiet, signal: null });
    assert.deepEqual((await readdir(ckpt)).sort(), ["latest.json", "step-00000002", "step-00000005", "step-00000006"]);
    assert.deepEqual(JSON.parse(await readFile(join(ckpt, "latest.json"), "utf8")), { checkpoint: "step-00000002", step: 2 });
    await again.fit({ train: data, epochs: 3, checkpoint: { dir: ckpt, everySteps: 1, keep: 1 }, callbacks: quiet, signal: null });
    // The new run replaced the old run's steps 5 and 6 as it reached them, then pruned its own 5.
    assert.deepEqual((await readdir(ckpt)).sort(), ["latest.json", "step-00000006"]);
    const replaced = JSON.parse(await readFile(join(ckpt, "step-00000006", "trainer.json"), "utf8")) as { run: string };
    assert.notEqual(replaced.run, record.run, "step 6 is the new run's");
    again.dispose();
    model.dispose();
    data.dispose();
  });

  test("mistakes are errors that say what to do", async () => {
    const model = new TinyMlp(64, 8, 4, 1);
    const data = syntheticSource(48, 4, 8, { seed: 5 });
    const ckpt = join(dir, "mistakes");
    const trainer = new Trainer(model, OPTIONS);
    await trainer.fit({ train: data, epochs: 3, maxSteps: 2, checkpoint: { dir: ckpt }, callbacks: quiet, signal: null });
    const other = syntheticSource(40, 4, 8, { seed: 5 });
    await assert.rejects(trainer.fit({ train: other, epochs: 3, callbacks: quiet, signal: null }), /stopped at batch 2 of 6 per epoch, but the training data now gives 5 batches per epoch/);
    await assert.rejects(Trainer.resume(tinyCluenet(), ckpt), /saved from a model with other variables/);
    await assert.rejects(Trainer.resume(model, join(dir, "nothing-here")), /does not exist/);
    await assert.rejects(trainer.fit({ train: data, epochs: 0 }), /epochs must be a positive integer, got 0/);
    assert.throws(() => new Trainer({} as TrainableModel), /the trainer needs a model with apply/);
    assert.throws(() => new Trainer(model, { labelSmoothing: 1 }), /labelSmoothing must be in \[0, 1\), got 1/);
    trainer.dispose();
    model.dispose();
    data.dispose();
    other.dispose();
  });
});
