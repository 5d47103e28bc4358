/** The events a training run reports to its callbacks. */
import type { EvalResult } from "../evaluate.js";

/** Sent once when `fit` starts (also when it resumes). */
export interface TrainBeginEvent {
  /** Steps already taken (0 for a fresh run). */
  startStep: number;
  /** The step count the run will reach if nothing stops it. */
  totalSteps: number;
  /** The epoch count it trains to. */
  epochs: number;
  stepsPerEpoch: number;
  /** True when continuing a run that had already taken steps (a resumed checkpoint or a second `fit`). */
  resumed: boolean;
  /** What was recorded before this call (to redraw curves after a resume). */
  history: TrainHistory;
}

/** Sent after every optimizer step. */
export interface StepEvent {
  /** Steps taken so far, this one included. */
  step: number;
  /** The epoch (0-based) and the batch within it (0-based) this step trained on. */
  epoch: number;
  batch: number;
  stepsPerEpoch: number;
  /** Training position in epochs (fractional), for plotting. */
  progress: number;
  /** Mean loss of the batch (with label smoothing, if on). */
  loss: number;
  /** Top-1 accuracy on the batch, in training mode. */
  accuracy: number;
  /** The learning rate the step used. */
  lr: number;
  /** Global gradient norm before clipping (when clipping is on). */
  gradNorm?: number;
  /** Images in the batch. */
  images: number;
  /** Images per second over this step (data wait included). */
  imagesPerSecond: number;
}

/** Sent after every completed epoch. */
export interface EpochEvent {
  /** The epoch that ended (0-based); `epoch + 1` epochs are done. */
  epoch: number;
  epochs: number;
  step: number;
  /** Mean training loss and accuracy over the epoch's batches. */
  trainLoss: number;
  trainAccuracy: number;
  /** Validation after the epoch, when a validation source was given. */
  validation?: EvalResult;
  /** The learning rate of the epoch's last step. */
  lr: number;
  /** Seconds the epoch took (validation included). */
  seconds: number;
}

/** Sent after every validation batch. */
export interface ValidationBatchEvent {
  /** The epoch being validated (0-based). */
  epoch: number;
  /** Samples evaluated so far, and in all (when the source knows). */
  seen: number;
  total?: number;
}

/** Sent after a checkpoint was written. */
export interface CheckpointEvent {
  step: number;
  /** The checkpoint's folder. */
  path: string;
}

/** Why `fit` returned. */
export type StopReason = "completed" | "aborted" | "maxSteps";

/** Sent once when `fit` returns. */
export interface TrainEndEvent {
  reason: StopReason;
  step: number;
  /** Completed epochs. */
  epoch: number;
  /** The last checkpoint written, if any. */
  checkpoint?: string;
  seconds: number;
  history: TrainHistory;
}

/** What a run records: every step's loss and every epoch's summary. */
export interface TrainHistory {
  steps: Array<{ step: number; progress: number; loss: number; accuracy: number; lr: number }>;
  epochs: EpochEvent[];
}

/** Hooks called during `fit`; any may be async (the loop waits for it). */
export interface Callback {
  onTrainBegin?(event: TrainBeginEvent): void | Promise<void>;
  onStepEnd?(event: StepEvent): void | Promise<void>;
  onValidationBatch?(event: ValidationBatchEvent): void | Promise<void>;
  onEpochEnd?(event: EpochEvent): void | Promise<void>;
  onCheckpoint?(event: CheckpointEvent): void | Promise<void>;
  onTrainEnd?(event: TrainEndEvent): void | Promise<void>;
}
