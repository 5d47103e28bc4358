/**
 * DCvCD: deep clustering via gradual community detection, a refinement stage for any backbone
 * behind the `Encoder` interface.
 * @packageDocumentation
 */
export { run, type DcvcdInput, type DcvcdResult, type DcvcdSummary, type RoundRecord, type MergeRecord, type RunControl } from "./pipeline.js";
export { PAPER_DEFAULTS, resolveOptions, deviations, type DcvcdOptions, type Deviation } from "./options.js";
export { clusteringInfoNce, drawPositives, fineTune, embedAll, type FineTuneRecord } from "./finetune.js";
export { deltaModularity, deltaAverageDegree, jointStatistics, meanPairDistances, mergeScores, greedyMerges, type PairScore, type JointStatistics } from "./merge-score.js";
export { initialise, riskScreening, quantile, type InitialCluster } from "./initialise.js";
export { purity, provisionalLabels, centroids, nearestCentroid, type Scores } from "./assignment.js";
export { SampleBatches, type SampleInputs } from "./samples.js";
export * as figures from "../display/index.js";
