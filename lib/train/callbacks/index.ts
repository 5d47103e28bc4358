export type { Callback, TrainBeginEvent, StepEvent, EpochEvent, ValidationBatchEvent, CheckpointEvent, TrainEndEvent, TrainHistory, StopReason } from "./types.js";
export { liveChart, type LiveChartOptions } from "./live-chart.js";
export { progressBar } from "./progress-bar.js";
export { textLog } from "./text-log.js";
export { jsonLines } from "./json-lines.js";
export { defaultCallbacks } from "./defaults.js";
