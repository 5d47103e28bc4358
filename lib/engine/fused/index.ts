/**
 * Fused ops: one kernel on backends that have one (the native backend), and exactly the same
 * composition of TensorFlow.js ops everywhere else (the reference the native kernels are tested
 * against). Models call these instead of spelling the composition out, so the fast path needs no
 * model change and every backend computes the same function.
 * @packageDocumentation
 */
export { gelu, referenceGelu } from "./activation.js";
export { referenceSoftAggregate, softAggregate } from "./attention.js";
export {
  clusterAssign, clusterDispatch, dispatchMatrix, referenceClusterAssign, referenceClusterDispatch, type ClusterAssignment,
} from "./assign.js";
export { gatedMix, referenceGatedMix, referenceTemperedL2Normalize, temperedL2Normalize, type GateWeights } from "./centers.js";
export { clusterMean, nearestCenter, referenceClusterMean, referenceNearestCenter } from "./cluster.js";
export { conv2dBias, depthwiseConv2dBias, depthwiseConv2dBiasGelu } from "./conv.js";
export { mergeHeads, splitHeads, type HeadsLayout } from "./heads.js";
export { linear, linearPair, referenceLinear, referenceLinearPair } from "./linear.js";
export { layerNorm, layerNormTee, l2Normalize, normalizeAffine, referenceLayerNorm, referenceLayerNormTee, referenceL2Normalize } from "./norm.js";
export { normalizeAndPool, passAndPool, referenceNormalizeAndPool, referencePassAndPool, type PoolGrid } from "./pool.js";
export { adamwStep, adamwUpdate, referenceAdamwStep, type AdamWOptions } from "./optim.js";
export { referenceResidual, residual } from "./residual.js";
