/**
 * The training loop: AdamW steps under a learning-rate schedule, label smoothing, gradient
 * clipping, validation after each epoch, callbacks, checkpoints, resume, and a clean stop when
 * the running cell's AbortSignal fires (checked between steps).
 */
import { randomUUID } from "node:crypto";
import { tf } from "../engine/index.js";
import { currentAbortSignal } from "../display/protocol.js";
import { AdamW, type AdamWOptions } from "./adamw.js";
import type { BatchSource, TrainBatch } from "./batches.js";
import type { Callback, EpochEvent, StepEvent, StopReason, TrainHistory } from "./callbacks/types.js";
import { defaultCallbacks } from "./callbacks/defaults.js";
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, locateCheckpoint, readCheckpoint, writeCheckpoint, type TrainerRecord } from "./checkpoint.js";
import { clipByGlobalNorm } from "./clip.js";
import { evaluate, type EvalResult } from "./evaluate.js";
import { crossEntropy } from "./loss.js";
import { variableNames, type TrainableModel } from "./model.js";
import { resetEngineAfterTermination } from "./recover.js";
import { ConstantRate, WarmupCosine, scheduleFromJSON, type Schedule, type WarmupCosineOptions } from "./schedule.js";

/** How to train: optimizer, schedule, regularisation. Fixed for the life of a run (checkpoints keep them). */
export interface TrainerOptions {
  /** AdamW hyperparameters (default lr 1e-3, weight decay 0.05). */
  optimizer?: AdamWOptions;
  /** Warmup + cosine options, any {@link Schedule}, or null/omitted for a constant rate. */
  schedule?: WarmupCosineOptions | Schedule | null;
  /** Label smoothing ε of the training loss (default 0, as the papers). */
  labelSmoothing?: number;
  /** Clip gradients to this global L2 norm (default: no clipping, as the papers). */
  clipGradNorm?: number | null;
  /** Anything to keep with the checkpoints (the CLI stores its configuration here). */
  meta?: Record<string, unknown>;
}

/** Where and when `fit` writes checkpoints. */
export interface CheckpointOptions {
  /** The run's checkpoint folder (created if needed). */
  dir: string;
  /** Also every this many steps (default: only at epoch ends). */
  everySteps?: number;
  /** Every this many epochs (default 1). */
  everyEpochs?: number;
  /** Checkpoints kept (default 2). */
  keep?: number;
}

/** What one `fit` call does. */
export interface FitOptions {
  /** The training batches. */
  train: BatchSource;
  /** Train until this many epochs are complete (counted from the start of the run, so a resumed run finishes the same plan). */
  epochs: number;
  /** Evaluated after every epoch. */
  validation?: BatchSource;
  /** Default: a live chart and progress bar in a notebook, a progress line and one line per epoch elsewhere. */
  callbacks?: Callback[];
  /** Stops the run cleanly between steps; default: the running notebook cell's signal (an interrupt). */
  signal?: AbortSignal | null;
  /** Write checkpoints (also when stopped by the signal). */
  checkpoint?: CheckpointOptions;
  /** Stop once this many steps have been taken in total (a budget for quick runs). */
  maxSteps?: number;
}

/** What `fit` returns. */
export interface FitResult {
  reason: StopReason;
  /** Steps taken in total, and completed epochs. */
  step: number;
  epoch: number;
  history: TrainHistory;
  /** The last validation result, if any. */
  validation?: EvalResult;
  /** The last checkpoint written. */
  checkpoint?: string;
  /** Seconds this call took. */
  seconds: number;
}

function toSchedule(s: TrainerOptions["schedule"]): Schedule {
  if (s === null || s === undefined) return new ConstantRate();
  if (typeof (s as Schedule).rate === "function") return s as Schedule;
  return new WarmupCosine(s as WarmupCosineOptions);
}

/**
 * Trains a {@link TrainableModel} (e.g. `cluenet.create("CLUE_nano_FMNIST", { numClasses: 10 })`).
 *
 * @example
 * const trainer = new train.Trainer(model, {
 *   optimizer: { lr: 2e-3, weightDecay: 0.05 },
 *   schedule: { epochs: 10, warmupEpochs: 1 },
 * });
 * const result = await trainer.fit({ train: trainBatches, validation: testBatches, epochs: 10, checkpoint: { dir: "runs/fmnist" } });
 * // interrupted? later: (await train.Trainer.resume(model, "runs/fmnist")).fit({ … same … })
 */
export class Trainer {
  readonly model: TrainableModel;
  readonly optimizer: AdamW;
  readonly schedule: Schedule;
  readonly labelSmoothing: number;
  readonly clipGradNorm: number | null;
  /** Caller's metadata kept in checkpoints. */
  meta: Record<string, unknown>;
  #step = 0;
  #epoch = 0;
  #batch = 0;
  #stepsPerEpoch = 0;
  #epochs = 0;
  #epochSums = { loss: 0, correct: 0, count: 0 };
  #history: TrainHistory = { steps: [], epochs: [] };
  #lastCheckpoint: string | undefined;
  #savedStep = -1;
  #run: string = randomUUID();
  #running = false;
  /** Set during the synchronous part of a step; still set when a step was terminated mid-way. */
  #inStep = false;

  constructor(model: TrainableModel, options: TrainerOptions = {}) {
    checkModel(model);
    this.model = model;
    this.optimizer = new AdamW(options.optimizer);
    this.schedule = toSchedule(options.schedule);
    this.labelSmoothing = options.labelSmoothing ?? 0;
    if (!(this.labelSmoothing >= 0 && this.labelSmoothing < 1)) throw new RangeError(`labelSmoothing must be in [0, 1), got ${this.labelSmoothing}`);
    this.clipGradNorm = options.clipGradNorm ?? null;
    if (this.clipGradNorm !== null && !(this.clipGradNorm > 0)) throw new RangeError(`clipGradNorm must be a positive number or null, got ${this.clipGradNorm}`);
    this.meta = options.meta ?? {};
  }

  /** Optimizer steps taken. */
  get step(): number {
    return this.#step;
  }

  /** Completed epochs (= the epoch in progress, 0-based). */
  get epoch(): number {
    return this.#epoch;
  }

  /** Batches of the current epoch already trained. */
  get batchInEpoch(): number {
    return this.#batch;
  }

  /** Losses per step and summaries per epoch so far. */
  get history(): TrainHistory {
    return this.#history;
  }

  /** The learning rate the next step will use. */
  get lr(): number {
    const spe = this.#stepsPerEpoch || 1;
    return this.schedule.rate(this.optimizer.lr, this.#epoch + this.#batch / spe);
  }

  /** The last checkpoint written or resumed from. */
  get lastCheckpoint(): string | undefined {
    return this.#lastCheckpoint;
  }

  /**
   * Trains until `epochs` epochs are complete, `maxSteps` steps are taken, or the signal fires
   * (then it stops after the step in progress and, with `checkpoint`, writes a resumable state).
   * Another `fit` on the same trainer continues where this one stopped.
   */
  async fit(options: FitOptions): Promise<FitResult> {
    this.#recoverIfCutOff();
    if (this.#running) throw new Error("this trainer is already running fit(); wait for it (or stop it) before starting another");
    const { train, epochs } = options;
    if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError(`fit: epochs must be a positive integer, got ${epochs}`);
    if (!train || typeof train.epoch !== "function" || !(train.length > 0)) {
      throw new TypeError("fit: train must be a batch source with at least one batch per epoch (train.fromDataset(…) or train.fromTensors(…))");
    }
    if (this.#batch > 0 && this.#stepsPerEpoch !== train.length) {
      throw new Error(
        `fit: this run stopped at batch ${this.#batch} of ${this.#stepsPerEpoch} per epoch, but the training data now gives ${train.length} batches per epoch; ` +
          "resume with the same dataset, batch size and dropLast",
      );
    }
    if (options.maxSteps !== undefined && !(Number.isInteger(options.maxSteps) && options.maxSteps >= 0)) {
      throw new RangeError(`fit: maxSteps must be a non-negative integer, got ${options.maxSteps}`);
    }
    const signal = options.signal === undefined ? currentAbortSignal() : (options.signal ?? undefined);
    const callbacks = options.callbacks ?? defaultCallbacks();
    const ckpt = options.checkpoint;
    this.#running = true;
    this.#stepsPerEpoch = train.length;
    this.#epochs = epochs;
    const started = performance.now();
    let reason: StopReason = "completed";
    let lastValidation: EvalResult | undefined = this.#history.epochs.at(-1)?.validation;
    try {
      const totalSteps = Math.min(epochs * train.length, options.maxSteps ?? Infinity);
      await emit(callbacks, "onTrainBegin", {
        startStep: this.#step,
        totalSteps: Math.max(totalSteps, this.#step),
        epochs,
        stepsPerEpoch: train.length,
        resumed: this.#step > 0,
        history: this.#history,
      });
      outer: while (this.#epoch < epochs) {
        if (options.maxSteps !== undefined && this.#step >= options.maxSteps) {
          reason = "maxSteps";
          break;
        }
        const epochStarted = performance.now();
        if (this.#batch < train.length) {
          let last = performance.now();
          try {
            for await (const batch of train.epoch(this.#epoch, this.#batch)) {
              if (signal?.aborted || (options.maxSteps !== undefined && this.#step >= options.maxSteps)) {
                batch.dispose();
                reason = signal?.aborted ? "aborted" : "maxSteps";
                break outer;
              }
              const event = await this.#trainStep(batch, last);
              last = performance.now();
              await emit(callbacks, "onStepEnd", event);
              // A full event-loop turn between steps (a timer, not setImmediate, so that due timers
              // run too): the kernel's interrupt (which aborts the signal), comm messages, the
              // kernel's batched stdout and the throttled redraws of live outputs are all
              // event-loop tasks, which a data source resolving in microtasks would starve.
              await new Promise<void>((resolve) => setTimeout(resolve, 0));
              if (ckpt?.everySteps && this.#step % ckpt.everySteps === 0) await this.#checkpoint(ckpt, callbacks);
            }
          } catch (error) {
            // Data loaders stop on the cell's interrupt by throwing its AbortError: that is our stop too.
            if (!signal?.aborted) throw error;
          }
        }
        if (signal?.aborted) {
          reason = "aborted";
          break;
        }
        if (options.maxSteps !== undefined && this.#step >= options.maxSteps && this.#batch < train.length) {
          reason = "maxSteps";
          break;
        }
        let validation: EvalResult | undefined;
        if (options.validation) {
          const epoch = this.#epoch;
          const total = options.validation.samples;
          try {
            const result = await evaluate(this.model, options.validation, {
              ...(signal ? { signal } : {}),
              onBatch: (seen) => emit(callbacks, "onValidationBatch", { epoch, seen, ...(total !== undefined ? { total } : {}) }),
            });
            if (!signal?.aborted) validation = lastValidation = result;
          } catch (error) {
            if (!signal?.aborted) throw error; // an interrupted validation is left out; the epoch's training is done
          }
        }
        const lrOfEpoch = this.schedule.rate(this.optimizer.lr, this.#epoch + (train.length - 1) / train.length);
        const sums = this.#epochSums;
        const event: EpochEvent = {
          epoch: this.#epoch,
          epochs,
          step: this.#step,
          trainLoss: sums.loss / Math.max(sums.count, 1),
          trainAccuracy: sums.correct / Math.max(sums.count, 1),
          ...(validation ? { validation } : {}),
          lr: lrOfEpoch,
          seconds: (performance.now() - epochStarted) / 1000,
        };
        this.#epoch++;
        this.#batch = 0;
        this.#epochSums = { loss: 0, correct: 0, count: 0 };
        this.#history.epochs.push(event);
        await emit(callbacks, "onEpochEnd", event);
        if (ckpt && (this.#epoch % (ckpt.everyEpochs ?? 1) === 0 || this.#epoch === epochs)) await this.#checkpoint(ckpt, callbacks);
        if (signal?.aborted) {
          reason = this.#epoch < epochs ? "aborted" : "completed";
          break;
        }
      }
      if (ckpt && this.#savedStep !== this.#step) await this.#checkpoint(ckpt, callbacks);
      const result: FitResult = {
        reason,
        step: this.#step,
        epoch: this.#epoch,
        history: this.#history,
        ...(lastValidation ? { validation: lastValidation } : {}),
        ...(this.#lastCheckpoint ? { checkpoint: this.#lastCheckpoint } : {}),
        seconds: (performance.now() - started) / 1000,
      };
      await emit(callbacks, "onTrainEnd", { reason, step: this.#step, epoch: this.#epoch, seconds: result.seconds, history: this.#history, ...(result.checkpoint ? { checkpoint: result.checkpoint } : {}) });
      return result;
    } finally {
      this.#running = false;
    }
  }

  /** Loss and top-1/top-3 accuracy of the model over `source` (inference mode). */
  evaluate(source: BatchSource, options: { signal?: AbortSignal } = {}): Promise<EvalResult> {
    this.#recoverIfCutOff();
    return evaluate(this.model, source, options);
  }

  /**
   * Writes the whole training state under `dir` (see the checkpoint module): weights in the
   * model's format, AdamW moments, schedule position, the model's random state, history.
   * Returns the checkpoint's folder.
   */
  async save(dir: string, options: { keep?: number } = {}): Promise<string> {
    this.#recoverIfCutOff();
    const variables = this.model.trainableWeights;
    const record: TrainerRecord = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      run: this.#run,
      step: this.#step,
      epoch: this.#epoch,
      batch: this.#batch,
      stepsPerEpoch: this.#stepsPerEpoch,
      epochs: this.#epochs,
      optimizer: { kind: "AdamW", options: this.optimizer.options, step: this.optimizer.step },
      schedule: this.schedule.toJSON(),
      labelSmoothing: this.labelSmoothing,
      clipGradNorm: this.clipGradNorm,
      modelRandomState: typeof this.model.randomState === "function" ? this.model.randomState() : null,
      epochSums: { ...this.#epochSums },
      history: this.#history,
      meta: this.meta,
      variables: variableNames(this.model),
      savedAt: new Date().toISOString(),
    };
    const path = await writeCheckpoint(
      dir,
      {
        record,
        saveWeights: (file) => this.model.saveWeights(file, { "cluelab.step": String(this.#step) }),
        optimizerState: await this.optimizer.exportState(variables),
      },
      options.keep,
    );
    this.#lastCheckpoint = path;
    this.#savedStep = this.#step;
    return path;
  }

  /**
   * Restores a run from a checkpoint (`path`: a run's checkpoint folder, or one `step-…` folder in
   * it) into `model`, which must be built as the saved one was. The trainer continues exactly
   * where the run was: same weights, moments, schedule position, data position and, when the
   * model exposes it, random stream — the continuation is bit-identical.
   */
  static async resume(model: TrainableModel, path: string): Promise<Trainer> {
    checkModel(model);
    const files = await locateCheckpoint(path);
    const { record, optimizerState } = await readCheckpoint(files);
    const names = variableNames(model);
    if (names.length !== record.variables.length || names.some((n, i) => n !== record.variables[i])) {
      const missing = record.variables.filter((n) => !names.includes(n));
      const extra = names.filter((n) => !record.variables.includes(n));
      throw new Error(
        `the checkpoint ${files.dir} was saved from a model with other variables` +
          (missing.length ? `; missing here: ${missing.slice(0, 5).join(", ")}` : "") +
          (extra.length ? `; not in the checkpoint: ${extra.slice(0, 5).join(", ")}` : "") +
          "; build the model with the same configuration",
      );
    }
    await model.loadWeights(files.model);
    const trainer = new Trainer(model, {
      optimizer: record.optimizer.options,
      schedule: scheduleFromJSON(record.schedule),
      labelSmoothing: record.labelSmoothing,
      clipGradNorm: record.clipGradNorm,
      meta: record.meta,
    });
    trainer.optimizer.importState(model.trainableWeights, optimizerState);
    if (record.modelRandomState !== null && record.modelRandomState !== undefined) {
      if (typeof model.setRandomState !== "function") throw new Error(`the checkpoint holds a random state but this model cannot take one (no setRandomState)`);
      model.setRandomState(record.modelRandomState);
    }
    trainer.#run = record.run;
    trainer.#step = record.step;
    trainer.#epoch = record.epoch;
    trainer.#batch = record.batch;
    trainer.#stepsPerEpoch = record.stepsPerEpoch;
    trainer.#epochs = record.epochs;
    trainer.#epochSums = { ...record.epochSums };
    trainer.#history = record.history;
    trainer.#lastCheckpoint = files.dir;
    trainer.#savedStep = record.step;
    return trainer;
  }

  /** Frees the optimizer's moments (not the model). */
  dispose(): void {
    this.optimizer.dispose();
  }

  /**
   * A step is synchronous from its start to its commit, so when this runs (from other code) with
   * the step flag still set, that step was terminated by a hard interrupt: its `fit` will never
   * return. The trainer's state is the one before that step; the engine needs repair.
   */
  #recoverIfCutOff(): void {
    if (!this.#inStep) return;
    this.#inStep = false;
    this.#running = false;
    const { stranded } = resetEngineAfterTermination();
    console.warn(
      `cluelab: the training step after step ${this.#step} was cut off by a hard interrupt (the kernel stops a cell that does not yield within its grace period). ` +
        `The trainer continues from step ${this.#step}; TensorFlow.js' engine was reset (${stranded} tensors of the cut-off step stay allocated until the kernel restarts).`,
    );
  }

  async #checkpoint(options: CheckpointOptions, callbacks: readonly Callback[]): Promise<void> {
    if (this.#savedStep === this.#step) return;
    const path = await this.save(options.dir, options.keep === undefined ? {} : { keep: options.keep });
    await emit(callbacks, "onCheckpoint", { step: this.#step, path });
  }

  /** One optimizer step on `batch` (disposed here); the state changes in one synchronous commit. */
  async #trainStep(batch: TrainBatch, since: number): Promise<StepEvent> {
    const epoch = this.#epoch;
    const index = this.#batch;
    const spe = this.#stepsPerEpoch;
    const lr = this.schedule.rate(this.optimizer.lr, epoch + index / spe);
    const variables = this.model.trainableWeights;
    const randomBefore = typeof this.model.randomState === "function" ? this.model.randomState() : undefined;
    const images = batch.x.shape[0];
    const kept: tf.Tensor[] = [];
    this.#inStep = true;
    try {
      let correct: tf.Scalar | undefined;
      const { value: loss, grads } = tf.variableGrads(() => {
        const logits = this.model.apply(batch.x, { training: true });
        correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(batch.y, "int32")), "float32")));
        return crossEntropy(logits, batch.y, this.labelSmoothing);
      }, variables);
      kept.push(loss, correct!, ...Object.values(grads));
      let gradients: Array<tf.Tensor | null> = variables.map((v) => grads[v.name] ?? null);
      let norm: tf.Scalar | undefined;
      if (this.clipGradNorm !== null) {
        const clipped = clipByGlobalNorm(gradients, this.clipGradNorm);
        gradients = clipped.gradients;
        norm = clipped.norm;
        kept.push(norm, ...gradients.filter((g): g is tf.Tensor => g !== null));
      }
      // The commit: weights, moments and counters change together, with no await in between.
      this.optimizer.applyGradients(variables, gradients, lr);
      this.#step++;
      this.#batch++;
      this.#inStep = false;
      tf.dispose(kept.filter((t) => t !== loss && t !== correct && t !== norm));
      batch.dispose();
      const [lossValue, correctValue, normValue] = await Promise.all([loss.data(), correct!.data(), norm?.data()]);
      tf.dispose([loss, correct!, ...(norm ? [norm] : [])]);
      const lossNumber = lossValue[0]!;
      const accuracy = correctValue[0]! / images;
      this.#epochSums.loss += lossNumber * images;
      this.#epochSums.correct += correctValue[0]!;
      this.#epochSums.count += images;
      const progress = epoch + (index + 1) / spe;
      this.#history.steps.push({ step: this.#step, progress, loss: lossNumber, accuracy, lr });
      const seconds = (performance.now() - since) / 1000;
      return {
        step: this.#step,
        epoch,
        batch: index,
        stepsPerEpoch: spe,
        progress,
        loss: lossNumber,
        accuracy,
        lr,
        ...(normValue ? { gradNorm: normValue[0]! } : {}),
        images,
        imagesPerSecond: seconds > 0 ? images / seconds : 0,
      };
    } catch (error) {
      this.#inStep = false;
      tf.dispose(kept);
      batch.dispose();
      if (this.#batch === index && randomBefore !== undefined) this.model.setRandomState?.(randomBefore);
      throw error;
    }
  }
}

function checkModel(model: TrainableModel): void {
  const missing = (["apply", "saveWeights", "loadWeights"] as const).filter((k) => typeof (model as unknown as Record<string, unknown>)?.[k] !== "function");
  if (model === null || typeof model !== "object" || missing.length > 0 || !Array.isArray(model.trainableWeights)) {
    throw new TypeError(
      `the trainer needs a model with apply(x, { training }), trainableWeights, saveWeights(file) and loadWeights(file) (a cluenet model has them)` +
        (missing.length ? `; missing: ${missing.join(", ")}` : ""),
    );
  }
}

async function emit<K extends keyof Callback>(callbacks: readonly Callback[], name: K, event: Parameters<NonNullable<Callback[K]>>[0]): Promise<void> {
  for (const callback of callbacks) {
    const hook = callback[name] as ((e: typeof event) => void | Promise<void>) | undefined;
    if (hook) await hook.call(callback, event);
  }
}
