/**
 * Training: AdamW with decoupled weight decay, warmup + cosine schedules, label smoothing,
 * gradient clipping, top-1/top-3 evaluation, full-state checkpoints with bit-identical resume,
 * live notebook views, the papers' recipes and an ablation runner.
 *
 * ```ts
 * import { cluenet, datasets, train } from "cluelab";
 * const model = cluenet.create("CLUE_nano_FMNIST", { numClasses: 10, seed: 0 });
 * const trainSet = await datasets.fashionMnist({ split: "train" });
 * const trainer = new train.Trainer(model, { optimizer: { lr: 2e-3 }, schedule: { epochs: 10, warmupEpochs: 1 } });
 * await trainer.fit({ train: train.fromDataset(trainSet, { batchSize: 64, shuffle: true, seed: 0 }), epochs: 10 });
 * ```
 * @packageDocumentation
 */
export { Trainer, type TrainerOptions, type FitOptions, type FitResult, type CheckpointOptions } from "./trainer.js";
export type { TrainableModel } from "./model.js";
export { AdamW, type AdamWOptions, type AdamWState, type AdamWSlot } from "./adamw.js";
export { WarmupCosine, ConstantRate, warmupCosine, scheduleFromJSON, type Schedule, type WarmupCosineOptions } from "./schedule.js";
export { crossEntropy } from "./loss.js";
export { clipByGlobalNorm } from "./clip.js";
export { evaluate, type EvalResult, type EvaluateOptions } from "./evaluate.js";
export { fromDataset, fromTensors, type BatchSource, type TrainBatch, type BatchedDataset, type TensorBatchOptions } from "./batches.js";
export { locateCheckpoint, readCheckpoint, checkpointFiles, type TrainerRecord, type CheckpointFiles } from "./checkpoint.js";
export * from "./callbacks/index.js";
export { RECIPES, recipe, type Recipe, type RecipeData } from "./recipes.js";
export {
  runAblation, meanSpread, AblationResult, CLUENET_ABLATIONS,
  type AblationRow, type AblationOptions, type AblationRun, type AblationRowResult, type AblationModel, type MeanSpread,
} from "./ablation.js";
export { contrastivePretrain, ntXent, type ContrastiveOptions, type ContrastiveRecord } from "./contrastive.js";
export { autoencoderPretrain, reconstructionLoss, type AutoencoderPretrainOptions, type AutoencoderPretrainRecord } from "./autoencoder.js";
export { smallCnn, type SmallCnnOptions } from "./encoders/small-cnn.js";
export { autoencoder, type Autoencoder, type AutoencoderOptions } from "./encoders/autoencoder.js";
export { cluenetEncoder, type CluenetEncoderOptions } from "./encoders/cluenet.js";
