import { Command } from "commander";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { AblationRow, Recipe } from "../../lib/train/index.js";
import { addRunOptions, openDataset, seedList } from "./train-setup.js";

interface AblateFlags {
  data?: Recipe;
  config?: string;
  /** Row names, comma-separated: checked once the rows are loaded (see runAblate). */
  rows?: string;
  seeds: number[];
  epochs?: number;
  batch?: number;
  lr?: number;
  maxSteps?: number;
  trainSubset?: number;
  evalSubset?: number;
  dataRoot?: string;
  set?: Record<string, unknown>;
  workers: number;
  json?: string;
}

function parseRows(value: string, all: readonly AblationRow[]): AblationRow[] {
  const names = value.split(",").map((s) => s.trim());
  return names.map((name) => {
    const row = all.find((r) => r.name === name);
    if (!row) throw new Error(`unknown row "${name}"; the rows are: ${all.map((r) => r.name).join(", ")}`);
    return row;
  });
}

/**
 * `cluelab ablate`: trains the CLUENet ablation rows (each innovation off, other pools, fewer
 * clusters, fixed temperature, CoC's mixer) under one budget and seed list; prints the table of
 * mean ± spread over seeds after every run and writes the results as JSON.
 */
export function ablateCommand(): Command {
  const command = new Command("ablate").description(
    "train the CLUENet ablation rows under one budget and seed list; table of mean ± spread over seeds",
  );
  return addRunOptions(command, "row")
    // The row names live with the training code, which loads TensorFlow.js: an unknown name lists them.
    .option("--rows <names>", "comma-separated rows, e.g. \"CLUENet,no gate\" (default: all; an unknown name lists them)")
    .option("--seeds <list>", "seeds, comma-separated", seedList, [0, 1, 2])
    .option("--json <file>", "write every run's results here")
    .action(async (flags: AblateFlags) => runAblate(flags));
}

async function runAblate(flags: AblateFlags): Promise<void> {
  if (!flags.data) throw new Error("--data is required (e.g. --data fashion-mnist); see `cluelab ablate --help`");
  // Loaded here, not at the top: `cluelab --help` and `cluelab kernel` must not load TensorFlow.js.
  const cluenet = await import("../../lib/cluenet/index.js");
  const { ready } = await import("../../lib/engine/index.js");
  const { CLUENET_ABLATIONS, fromDataset, runAblation } = await import("../../lib/train/index.js");
  const rows = flags.rows === undefined ? CLUENET_ABLATIONS : parseRows(flags.rows, CLUENET_ABLATIONS);
  await ready();
  const r = flags.data;
  const config = flags.config ?? r.model;
  const epochs = flags.epochs ?? r.epochs;
  const batchSize = flags.batch ?? r.batchSize;
  let trainSet = await openDataset(r, r.trainSplit, flags.dataRoot);
  let evalSet = await openDataset(r, r.evalSplit, flags.dataRoot);
  if (flags.trainSubset) trainSet = trainSet.subset(Math.min(flags.trainSubset, trainSet.length), { seed: 0 });
  if (flags.evalSubset) evalSet = evalSet.subset(Math.min(flags.evalSubset, evalSet.length), { seed: 0 });
  const evalAugment = r.evalAugment();
  const out = (line: string) => process.stdout.write(line + "\n");
  out(`ablating ${config} on ${trainSet}; evaluating on ${evalSet}; ${epochs} epochs of batch ${batchSize}${flags.maxSteps ? `, at most ${flags.maxSteps} steps` : ""}; seeds ${flags.seeds.join(", ")}`);
  const controller = new AbortController();
  const onSigint = () => {
    process.stderr.write("\ninterrupt: stopping after the current step; the finished runs are kept\n");
    controller.abort();
  };
  process.on("SIGINT", onSigint);
  try {
    let done = 0;
    const result = await runAblation({
      rows,
      seeds: flags.seeds,
      build: (row, seed) => cluenet.create(config, { numClasses: trainSet.classes.length, inChannels: trainSet.shape[2], seed, ...flags.set, ...row.overrides }),
      train: (seed) => fromDataset(trainSet, { batchSize, shuffle: true, seed, augment: r.trainAugment(), workers: flags.workers }),
      validation: fromDataset(evalSet, { batchSize, ...(evalAugment ? { augment: evalAugment } : {}), workers: flags.workers }),
      epochs,
      ...(flags.maxSteps ? { maxSteps: flags.maxSteps } : {}),
      trainer: {
        optimizer: { lr: flags.lr ?? r.lr, weightDecay: r.weightDecay },
        schedule: { epochs, warmupEpochs: Math.min(r.warmupEpochs, Math.max(0, epochs - 1)), minLr: r.minLr, warmupLr: r.warmupLr, granularity: r.granularity },
      },
      callbacks: (row, seed) => [{ onTrainEnd: (e) => void out(`run ${++done}/${rows.length * flags.seeds.length}: ${row.name}, seed ${seed}: ${e.step} steps in ${e.seconds.toFixed(0)} s`) }],
      signal: controller.signal,
      live: false,
    });
    out(String(result.table()));
    if (flags.json) {
      const file = resolve(flags.json);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, JSON.stringify({ config, data: r.name, epochs, batchSize, seeds: flags.seeds, stopped: result.stopped, rows: result.rows }, null, 1) + "\n");
    }
    if (result.stopped) process.exitCode = 130;
  } finally {
    process.off("SIGINT", onSigint);
  }
}
