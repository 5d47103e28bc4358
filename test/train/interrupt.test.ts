/**
 * Interrupting a training cell in the real kernel (over ZeroMQ, with the kernel tests' client):
 * with a grace period longer than a step, the loop sees the cell's AbortSignal between steps and
 * stops cleanly with a checkpoint; with a grace period shorter than a step, the kernel cuts the
 * step off, and the trainer keeps its state from before that step, repairs TensorFlow.js' engine
 * and trains on.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Message } from "../../kernel/protocol/messages.js";
import { TestKernel, ofType, streams } from "../kernel/helpers/client.js";

const SETUP = `
import { tf, cluenet, datasets, train } from "cluelab";
// Narrowed (8 channels everywhere) to keep the test short; a step still takes far longer than the 20 ms grace below.
const narrow = { dims: [8, 8, 8, 8], heads: [1, 1, 1, 1], headDims: [8, 8, 8, 8], mlpRatios: [1, 1, 1, 1] };
const model = cluenet.create("CLUE_nano_FMNIST", { numClasses: 10, seed: 0, ...narrow });
const data = (await datasets.fashionMnist({ split: "train" })).subset(256, { seed: 0 });
const batches = train.fromDataset(data, { batchSize: 32, shuffle: true, workers: 0 });
const trainer = new train.Trainer(model, { optimizer: { lr: 2e-3 } });
const log = [{ onStepEnd: (e: train.StepEvent) => console.log(\`step \${e.step} loss \${e.loss.toFixed(3)}\`) }];
`;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "cluelab-interrupt-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Runs `code`, sends an interrupt once a stream output matches `when` (or once `when()` is true),
 * and returns the cell's outputs and the last step printed before the interrupt. (The kernel
 * batches stdout, so a line printed just before a long synchronous step may arrive only after
 * that step.)
 */
async function interruptWhen(kernel: TestKernel, code: string, when: RegExp | (() => boolean)): Promise<{ outputs: Message[]; seen: number }> {
  const id = kernel.send("shell", "execute_request", { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
  // The client's queue of iopub messages (private to it; a test may look).
  const queue = (kernel as unknown as { iopubQueue: Message[] }).iopubQueue;
  const deadline = Date.now() + 240_000;
  const reached = typeof when === "function" ? when : () => queue.some((m) => m.parent_header.msg_id === id && m.header.msg_type === "stream" && when.test(String(m.content.text)));
  while (!reached()) {
    if (Date.now() > deadline) throw new Error(`no output matching ${when}; kernel stderr:\n${kernel.stderr.join("")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const seen = Math.max(0, ...queue.filter((m) => m.parent_header.msg_id === id && m.header.msg_type === "stream").flatMap((m) => [...String(m.content.text).matchAll(/^step (\d+)/gm)].map((x) => Number(x[1]))));
  await kernel.request("control", "interrupt_request", {});
  return { outputs: await kernel.collect(id, 240_000), seen };
}

describe("interrupting a training cell in the kernel", () => {
  test("given time to finish the step, the loop stops between steps and writes a resumable checkpoint", async () => {
    const kernel = await TestKernel.start({ directory: dir, env: { CLUELAB_INTERRUPT_GRACE_MS: "300000" } });
    try {
      const setup = await kernel.execute(SETUP, {}, 120_000);
      assert.deepEqual(ofType(setup.outputs, "error"), [], streams(setup.outputs).stderr);
      const { outputs, seen } = await interruptWhen(
        kernel,
        `const result = await trainer.fit({ train: batches, epochs: 3, callbacks: log, checkpoint: { dir: "runs/soft" } });\nconsole.log(\`\${result.reason} at step \${result.step}: \${result.checkpoint}\`);`,
        /^step 1 /m,
      );
      assert.deepEqual(ofType(outputs, "error"), [], "a cooperative stop is no error");
      const text = streams(outputs).stdout;
      const [, stopped] = /aborted at step (\d+): .*runs\/soft\/step-0+(\d+)/.exec(text) ?? [];
      assert.ok(stopped, `the cell reports the stop and its checkpoint:\n${text}`);
      // The interrupt arrived during step seen + 1 (or seen + 2, the printed line lagging a step); the loop stops after it.
      assert.ok(Number(stopped) <= seen + 2 && Number(stopped) < 24, `stopped at step ${stopped}, the interrupt came after step ${seen}`);
      const resumed = await kernel.execute(
        `const again = await train.Trainer.resume(cluenet.create("CLUE_nano_FMNIST", { numClasses: 10, seed: 9, ...narrow }), "runs/soft");\nconsole.log(\`resumed at step \${again.step}\`);`,
        {},
        120_000,
      );
      assert.match(streams(resumed.outputs).stdout, new RegExp(`resumed at step ${stopped}`));
    } finally {
      await kernel.shutdown();
    }
  });

  test("cut off mid-step by the kernel, the trainer keeps its state, repairs the engine and trains on", async () => {
    const kernel = await TestKernel.start({ directory: dir, env: { CLUELAB_INTERRUPT_GRACE_MS: "20" } });
    try {
      await kernel.execute(SETUP, {}, 120_000);
      // From the second forward pass on, the step spins synchronously for seconds after the forward
      // pass, inside the gradient tape, and marks the spin's start in a file: interrupting once the
      // file exists always lands mid-step. (Waiting for printed output instead could land between
      // steps: stdout is batched, so a line may arrive only as the spin ends.)
      const marker = join(dir, "spinning");
      const slowed =
        `import { writeFileSync } from "node:fs";\nconst apply = model.apply.bind(model);\nlet forwards = 0;\n` +
        `model.apply = (x, options) => { const y = apply(x, options); if (++forwards >= 2) { writeFileSync(${JSON.stringify(marker)}, ""); const end = Date.now() + 10_000; while (Date.now() < end); } return y; };\n`;
      const { outputs } = await interruptWhen(kernel, `${slowed}await trainer.fit({ train: batches, epochs: 3, callbacks: log });`, () => existsSync(marker));
      const errors = ofType(outputs, "error");
      assert.equal(errors.length, 1, "the kernel reports the cut-off cell");
      assert.match(String(errors[0]!.content.evalue), /did not yield within the grace period/);
      const next = await kernel.execute(
        `model.apply = apply;\nconst before = trainer.step;\nconst w0 = model.trainableWeights[0]!.dataSync().slice();\nconst r = await trainer.fit({ train: batches, epochs: 3, maxSteps: before + 1, callbacks: log });\n` +
          `const moved = model.trainableWeights[0]!.dataSync().some((v, i) => v !== w0[i]);\n` +
          `const state = (tf.engine() as unknown as { state: { kernelDepth: number; scopeStack: unknown[] } }).state;\n` +
          `console.log(\`from \${before} to \${r.step}: \${r.reason}, kernel depth \${state.kernelDepth}, open scopes \${state.scopeStack.length}, weights moved \${moved}\`);`,
        {},
        240_000,
      );
      assert.deepEqual(ofType(next.outputs, "error"), []);
      const { stdout, stderr } = streams(next.outputs);
      assert.match(stderr, /the training step after step \d+ was cut off by a hard interrupt/);
      const [, from, to] = /from (\d+) to (\d+): maxSteps, kernel depth 0, open scopes 0, weights moved true/.exec(stdout) ?? [];
      assert.ok(from, stdout);
      assert.equal(Number(to), Number(from) + 1);
      assert.match(stdout, new RegExp(`step ${to} loss \\d+\\.\\d+`), "the step after the repair learns (a finite loss)");
    } finally {
      await kernel.shutdown();
    }
  });
});
