/**
 * The compute engine: which TensorFlow.js backend cluelab runs on, and the kernels it adds.
 * @packageDocumentation
 */
export { tf } from "./tf.js";
export { EngineError } from "./errors.js";
export { BACKEND_NAMES, type BackendName, type BackendStatus } from "./backends/types.js";
export { ready, engineInfo, requestedBackend, type EngineInfo } from "./select.js";
export { doctor, type DoctorReport } from "./doctor.js";
export {
  gelu,
  layerNorm,
  layerNormTee,
  normalizeAffine,
  l2Normalize,
  nearestCenter,
  clusterMean,
  clusterAssign,
  clusterDispatch,
  dispatchMatrix,
  type ClusterAssignment,
  adamwStep,
  adamwUpdate,
  linear,
  linearPair,
  conv2dBias,
  depthwiseConv2dBias,
  depthwiseConv2dBiasGelu,
  residual,
  softAggregate,
  gatedMix,
  temperedL2Normalize,
  normalizeAndPool,
  passAndPool,
  type PoolGrid,
  type GateWeights,
  splitHeads,
  mergeHeads,
  type HeadsLayout,
  type AdamWOptions,
} from "./fused/index.js";
