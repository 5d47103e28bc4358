/**
 * Checkpoints of the whole training state, as a folder per checkpoint:
 *
 * ```
 * <dir>/latest.json                  {"checkpoint": "step-00000120", "step": 120}
 * <dir>/step-00000120/model.safetensors      the weights (CLUENet: the official PyTorch state_dict)
 * <dir>/step-00000120/optimizer.safetensors  AdamW moments: exp_avg.<name>, exp_avg_sq.<name>
 * <dir>/step-00000120/trainer.json           step, epoch, batch, schedule, optimizer settings,
 *                                            the model's random state, history, caller's metadata
 * ```
 *
 * A checkpoint is written into a temporary folder and renamed into place, then `latest.json` is
 * replaced the same way, so a crash at any moment leaves the previous checkpoint intact and
 * `latest.json` never names a half-written one.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { readSafetensors, toFloat32, writeSafetensors, type TensorToWrite } from "../nn/index.js";
import type { AdamWOptions, AdamWState } from "./adamw.js";
import type { TrainHistory } from "./callbacks/types.js";

/** The format tag of `trainer.json`. */
export const CHECKPOINT_FORMAT = "cluelab-train-checkpoint";
export const CHECKPOINT_VERSION = 1;

/** Everything in `trainer.json`. */
export interface TrainerRecord {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  /** Identifies the run (kept across resumes): a folder may hold checkpoints of several runs. */
  run: string;
  /** Optimizer steps taken. */
  step: number;
  /** The epoch in progress (0-based) and the batches of it already trained. */
  epoch: number;
  batch: number;
  stepsPerEpoch: number;
  /** The epoch count the run was asked to train to. */
  epochs: number;
  optimizer: { kind: "AdamW"; options: Required<AdamWOptions>; step: number };
  schedule: Record<string, unknown>;
  labelSmoothing: number;
  clipGradNorm: number | null;
  /** The model's random state (drop path), or null when the model does not expose it. */
  modelRandomState: unknown;
  /** Sums over the epoch in progress, so its mean loss and accuracy survive a resume. */
  epochSums: { loss: number; correct: number; count: number };
  history: TrainHistory;
  /** Whatever the caller attached (the CLI stores its configuration and data options here). */
  meta: Record<string, unknown>;
  /** Variable names, in the model's order (what optimizer.safetensors is keyed by). */
  variables: string[];
  savedAt: string;
}

/** The files of one checkpoint. */
export interface CheckpointFiles {
  dir: string;
  model: string;
  optimizer: string;
  trainer: string;
}

/** The files of the checkpoint folder `dir`. */
export function checkpointFiles(dir: string): CheckpointFiles {
  return { dir, model: join(dir, "model.safetensors"), optimizer: join(dir, "optimizer.safetensors"), trainer: join(dir, "trainer.json") };
}

/** The folder name of the checkpoint at `step`. */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, "0")}`;
}

/** What {@link writeCheckpoint} needs besides the record. */
export interface CheckpointContent {
  record: TrainerRecord;
  /** Writes the weights to this path (the model's own `saveWeights`). */
  saveWeights(file: string): Promise<void>;
  optimizerState: AdamWState;
}

/**
 * Writes a checkpoint under `root` atomically and points `latest.json` at it; keeps the newest
 * `keep` checkpoints (default 2) and removes older ones. Returns the checkpoint's folder.
 */
export async function writeCheckpoint(root: string, content: CheckpointContent, keep = 2): Promise<string> {
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`checkpoint keep must be a positive integer, got ${keep}`);
  await mkdir(root, { recursive: true });
  const name = checkpointName(content.record.step);
  const final = join(root, name);
  const tmp = join(root, `.${name}.tmp-${process.pid}-${Date.now()}`);
  await mkdir(tmp, { recursive: true });
  try {
    const files = checkpointFiles(tmp);
    await content.saveWeights(files.model);
    await writeOptimizer(files.optimizer, content.record.variables, content.optimizerState);
    await writeDurable(files.trainer, JSON.stringify(content.record, null, 1) + "\n");
    // A folder of the same name from another run (or an earlier pass of this one) is replaced.
    if (await exists(final)) {
      const old = join(root, `.${name}.old-${process.pid}-${Date.now()}`);
      await rename(final, old);
      await rename(tmp, final);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, final);
    }
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw new Error(`could not write the checkpoint ${final}: ${(error as Error).message}`, { cause: error });
  }
  await writeLatest(root, name, content.record.step);
  await prune(root, keep, name, content.record.run);
  return final;
}

/** Finds the checkpoint to resume from: `path` itself, or the one `path/latest.json` names, or the newest complete one. */
export async function locateCheckpoint(path: string): Promise<CheckpointFiles> {
  if (await exists(join(path, "trainer.json"))) return checkpointFiles(path);
  if (!(await exists(path))) throw new Error(`cannot resume: ${path} does not exist (give the --out folder of a run, or one of its step-… folders)`);
  const latest = join(path, "latest.json");
  if (await exists(latest)) {
    const pointer = JSON.parse(await readFile(latest, "utf8")) as { checkpoint?: unknown };
    if (typeof pointer.checkpoint === "string" && (await exists(join(path, pointer.checkpoint, "trainer.json")))) {
      return checkpointFiles(join(path, basename(pointer.checkpoint)));
    }
  }
  const steps = (await readdir(path)).filter((n) => /^step-\d+$/.test(n)).sort();
  for (const name of steps.reverse()) {
    if (await exists(join(path, name, "trainer.json"))) return checkpointFiles(join(path, name));
  }
  throw new Error(`cannot resume: ${path} holds no checkpoint (no trainer.json, no latest.json, no step-… folder)`);
}

/** Reads and checks `trainer.json` and the optimizer's moments of a checkpoint. */
export async function readCheckpoint(files: CheckpointFiles): Promise<{ record: TrainerRecord; optimizerState: AdamWState }> {
  let record: TrainerRecord;
  try {
    record = JSON.parse(await readFile(files.trainer, "utf8")) as TrainerRecord;
  } catch (error) {
    throw new Error(`cannot read ${files.trainer}: ${(error as Error).message}`, { cause: error });
  }
  if (record.format !== CHECKPOINT_FORMAT) throw new Error(`${files.trainer} is not a cluelab training checkpoint (format ${JSON.stringify(record.format)})`);
  if (record.version !== CHECKPOINT_VERSION) {
    throw new Error(`${files.trainer} has checkpoint version ${record.version}; this cluelab reads version ${CHECKPOINT_VERSION}`);
  }
  const optimizerState = await readOptimizer(files.optimizer, record.variables, record.optimizer.step);
  return { record, optimizerState };
}

async function writeOptimizer(file: string, names: readonly string[], state: AdamWState): Promise<void> {
  const tensors: Array<[string, TensorToWrite]> = [];
  state.slots.forEach((slot, i) => {
    if (!slot) return;
    tensors.push([`exp_avg.${names[i]}`, { shape: slot.shape, data: slot.m }], [`exp_avg_sq.${names[i]}`, { shape: slot.shape, data: slot.v }]);
  });
  await writeSafetensors(file, tensors, { format: "cluelab-adamw", step: String(state.step), layout: "the variables' own (channels-last) shapes" });
}

async function readOptimizer(file: string, names: readonly string[], step: number): Promise<AdamWState> {
  const st = await readSafetensors(file);
  const known = new Set(names.flatMap((n) => [`exp_avg.${n}`, `exp_avg_sq.${n}`]));
  const unexpected = [...st.tensors.keys()].filter((k) => !known.has(k));
  if (unexpected.length > 0) throw new Error(`${file} holds tensors for variables the checkpoint does not list: ${unexpected.slice(0, 5).join(", ")}`);
  const slots = names.map((name) => {
    const m = st.tensors.get(`exp_avg.${name}`);
    const v = st.tensors.get(`exp_avg_sq.${name}`);
    if (!m && !v) return null;
    if (!m || !v) throw new Error(`${file}: ${name} has only one of its two moments`);
    return { m: toFloat32(`exp_avg.${name}`, m), v: toFloat32(`exp_avg_sq.${name}`, v), shape: m.shape };
  });
  return { step, slots };
}

async function writeLatest(root: string, name: string, step: number): Promise<void> {
  const file = join(root, "latest.json");
  const tmp = `${file}.${process.pid}.tmp`;
  await writeDurable(tmp, JSON.stringify({ checkpoint: name, step }) + "\n");
  await rename(tmp, file);
}

/** Removes this run's checkpoints but the newest `keep` (another run's are left alone). */
async function prune(root: string, keep: number, current: string, run: string): Promise<void> {
  const mine: string[] = [];
  for (const name of (await readdir(root)).filter((n) => /^step-\d+$/.test(n)).sort()) {
    try {
      const record = JSON.parse(await readFile(join(root, name, "trainer.json"), "utf8")) as { run?: unknown };
      if (record.run === run) mine.push(name);
    } catch {
      // not a complete checkpoint: not ours to remove
    }
  }
  const old = mine.slice(0, Math.max(0, mine.length - keep)).filter((n) => n !== current);
  for (const name of old) await rm(join(root, name), { recursive: true, force: true });
}

async function writeDurable(file: string, text: string): Promise<void> {
  const handle = await open(file, "w");
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
