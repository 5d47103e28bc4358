import { Command } from "commander";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Callback, EvalResult, Recipe, Trainer } from "../../lib/train/index.js";
import { addRunOptions, fraction, nonNegativeInt, openDataset, positiveInt, positiveNumber } from "./train-setup.js";

interface TrainFlags {
  config?: string;
  data?: Recipe;
  epochs?: number;
  batch?: number;
  lr?: number;
  out?: string;
  resume?: string;
  seed?: number;
  warmup?: number;
  weightDecay?: number;
  labelSmoothing?: number;
  clipGradNorm?: number;
  set?: Record<string, unknown>;
  maxSteps?: number;
  trainSubset?: number;
  evalSubset?: number;
  dataRoot?: string;
  checkpointEvery?: number;
  workers: number;
  json?: boolean;
}

/** The settings of a run: what the checkpoints keep, so `--resume` needs no other flag. */
interface RunSettings {
  config: string;
  data: string;
  seed: number;
  batch: number;
  epochs: number;
  overrides: Record<string, unknown>;
  trainSubset: number | null;
  evalSubset: number | null;
  dataRoot: string | null;
  workers: number;
}

/**
 * `cluelab train`: a headless training run (for long runs, e.g. on a GPU machine) with the
 * papers' recipes as presets, JSON-lines logs, checkpoints of the whole state, resume and a final
 * evaluation.
 */
export function trainCommand(): Command {
  const command = new Command("train").description(
    "train a CLUENet configuration on a dataset with the paper's recipe; logs as JSON lines, checkpoints, resume",
  );
  return addRunOptions(command, "run")
    .option("--out <dir>", "run folder: checkpoints, log.jsonl, final.json (default: runs/<config>-<data>-<time>)")
    .option("--resume <dir>", "continue the run saved in <dir> (its settings come from the checkpoint)")
    .option("--seed <n>", "seed of the initialisation, shuffling, augmentation and drop path (default 0)", nonNegativeInt)
    .option("--warmup <n>", "warmup epochs (default: the recipe's)", nonNegativeInt)
    .option("--weight-decay <x>", "AdamW decoupled weight decay (default: the recipe's, 0.05)", Number)
    .option("--label-smoothing <x>", "label smoothing ε (default 0, as the papers)", fraction)
    .option("--clip-grad-norm <x>", "clip gradients to this global norm (default: none, as the papers)", positiveNumber)
    .option("--checkpoint-every <steps>", "also checkpoint every this many steps (default: every epoch)", positiveInt)
    .option("--json", "print the JSON-lines log on stdout instead of text")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  cluelab train --data fashion-mnist --epochs 10 --out runs/fmnist\n" +
        "  cluelab train --config CLUE_mini_CIFAR --data cifar100          # the paper's CIFAR-100 recipe\n" +
        "  cluelab train --resume runs/fmnist                              # continue after an interruption\n" +
        "Ctrl-C stops after the current step and writes a checkpoint to resume from.",
    )
    .action(async (flags: TrainFlags) => runTrain(flags));
}

async function runTrain(flags: TrainFlags): Promise<void> {
  // Loaded here, not at the top: `cluelab --help` and `cluelab kernel` must not load TensorFlow.js.
  const cluenet = await import("../../lib/cluenet/index.js");
  const { ready } = await import("../../lib/engine/index.js");
  const { Trainer, evaluate, fromDataset, jsonLines, progressBar, readCheckpoint, locateCheckpoint, recipe: recipeFor, textLog } = await import("../../lib/train/index.js");
  const out = (line: string) => process.stdout.write(line + "\n");
  const engine = await ready();
  let settings: RunSettings;
  let trainerOptions: ConstructorParameters<typeof Trainer>[1] | undefined;
  let runDir: string;
  if (flags.resume) {
    const files = await locateCheckpoint(flags.resume);
    const { record } = await readCheckpoint(files);
    const saved = record.meta.run as RunSettings | undefined;
    if (!saved) throw new Error(`${files.trainer} was not written by \`cluelab train\` (no run settings); resume it from code with train.Trainer.resume`);
    const conflicts = (["config", "seed", "batch", "lr", "warmup", "weightDecay", "labelSmoothing", "clipGradNorm", "set", "trainSubset", "evalSubset"] as const).filter((k) => flags[k] !== undefined);
    if (flags.data && flags.data.name !== saved.data) conflicts.push("data" as never);
    if (conflicts.length > 0) {
      throw new Error(`--resume continues the saved run with its own settings; drop ${conflicts.map((k) => `--${k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}`).join(", ")} (only --epochs, --max-steps, --out and --workers may change)`);
    }
    settings = { ...saved, epochs: flags.epochs ?? saved.epochs, workers: flags.workers };
    runDir = resolve(flags.out ?? flags.resume);
  } else {
    if (!flags.data) throw new Error("--data is required (e.g. --data fashion-mnist); see `cluelab train --help`");
    const r = flags.data;
    const config = flags.config ?? r.model;
    const epochs = flags.epochs ?? r.epochs;
    settings = {
      config,
      data: r.name,
      seed: flags.seed ?? 0,
      batch: flags.batch ?? r.batchSize,
      epochs,
      overrides: flags.set ?? {},
      trainSubset: flags.trainSubset ?? null,
      evalSubset: flags.evalSubset ?? null,
      dataRoot: flags.dataRoot ? resolve(flags.dataRoot) : null,
      workers: flags.workers,
    };
    const warmup = Math.min(flags.warmup ?? r.warmupEpochs, Math.max(0, epochs - 1));
    trainerOptions = {
      optimizer: { lr: flags.lr ?? r.lr, weightDecay: flags.weightDecay ?? r.weightDecay },
      schedule: { epochs, warmupEpochs: warmup, minLr: r.minLr, warmupLr: r.warmupLr, granularity: r.granularity },
      labelSmoothing: flags.labelSmoothing ?? r.labelSmoothing,
      clipGradNorm: flags.clipGradNorm ?? r.clipGradNorm,
    };
    runDir = resolve(flags.out ?? join("runs", `${config}-${r.name}-${new Date().toISOString().replace(/[:.]/g, "-")}`));
  }

  const r = recipeFor(settings.data);
  const root = settings.dataRoot ?? undefined;
  let trainSet = await openDataset(r, r.trainSplit, root);
  let evalSet = await openDataset(r, r.evalSplit, root);
  if (settings.trainSubset !== null) trainSet = trainSet.subset(Math.min(settings.trainSubset, trainSet.length), { seed: settings.seed });
  if (settings.evalSubset !== null) evalSet = evalSet.subset(Math.min(settings.evalSubset, evalSet.length), { seed: settings.seed });
  const model = cluenet.create(settings.config, {
    numClasses: trainSet.classes.length,
    inChannels: trainSet.shape[2],
    seed: settings.seed,
    ...settings.overrides,
  });
  const trainer = flags.resume ? await Trainer.resume(model, flags.resume) : new Trainer(model, { ...trainerOptions, meta: { run: settings } });
  const trainBatches = fromDataset(trainSet, { batchSize: settings.batch, shuffle: true, seed: settings.seed, augment: r.trainAugment(), workers: settings.workers });
  const evalAugment = r.evalAugment();
  const evalBatches = fromDataset(evalSet, { batchSize: settings.batch, ...(evalAugment ? { augment: evalAugment } : {}), workers: settings.workers });

  const log = join(runDir, "log.jsonl");
  const callbacks: Callback[] = [jsonLines(log), progressBar({ label: `${settings.config} on ${settings.data}` })];
  if (flags.json) callbacks.push(jsonLines((line) => process.stdout.write(line + "\n")));
  else callbacks.push(textLog());
  if (!flags.json) {
    out(`${flags.resume ? "resuming" : "training"} ${settings.config} (${model.countParams().toLocaleString("en")} parameters) on ${trainSet.toString()}`);
    out(`evaluating on ${evalSet.toString()}`);
    out(`backend ${engine.backend}; ${settings.epochs} epochs of ${trainBatches.length} batches of ${settings.batch}; lr ${trainer.optimizer.lr}, weight decay ${trainer.optimizer.weightDecay}; run folder ${runDir}`);
  }

  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) process.exit(130);
    process.stderr.write("\ninterrupt: stopping after the current step and writing a checkpoint (Ctrl-C again to quit at once)\n");
    controller.abort();
  };
  process.on("SIGINT", onSigint);
  try {
    const result = await trainer.fit({
      train: trainBatches,
      validation: evalBatches,
      epochs: settings.epochs,
      callbacks,
      signal: controller.signal,
      checkpoint: { dir: runDir, ...(flags.checkpointEvery ? { everySteps: flags.checkpointEvery } : {}) },
      ...(flags.maxSteps !== undefined ? { maxSteps: flags.maxSteps } : {}),
    });
    if (result.reason === "aborted") {
      if (!flags.json) out(`interrupted at step ${result.step}; continue with: cluelab train --resume ${runDir}`);
      process.exitCode = 130;
      return;
    }
    // The last epoch's validation is the final evaluation when the run completed; a step budget ends mid-epoch.
    const final: EvalResult =
      result.reason === "completed" && result.validation && trainer.history.epochs.at(-1)?.step === result.step
        ? result.validation
        : await evaluate(model, evalBatches, { signal: controller.signal });
    const summary = {
      event: "final",
      time: new Date().toISOString(),
      reason: result.reason,
      config: settings.config,
      data: settings.data,
      step: result.step,
      epochs: result.epoch,
      evaluated: final.count,
      loss: final.loss,
      top1: final.top1,
      top3: final.top3,
      perClass: Object.fromEntries(evalSet.classes.map((c, i) => [c, final.perClass[i] ?? null])),
      trainSeconds: result.seconds,
      checkpoint: result.checkpoint ?? null,
    };
    await writeFile(join(runDir, "final.json"), JSON.stringify(summary, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 1) + "\n");
    await writeFile(log, JSON.stringify(summary) + "\n", { flag: "a" });
    if (flags.json) out(JSON.stringify(summary));
    else {
      out(`final: top-1 ${(100 * final.top1).toFixed(2)}%  top-3 ${(100 * final.top3).toFixed(2)}%  loss ${final.loss.toFixed(4)} on ${final.count} images (${result.reason} at step ${result.step})`);
      out(`weights (official layout): ${join(result.checkpoint ?? runDir, "model.safetensors")}`);
    }
  } finally {
    process.off("SIGINT", onSigint);
    trainer.dispose();
    model.dispose();
  }
}
