/** Kernel names of cluelab's fused ops (a backend with such a kernel runs the op as one kernel). */
export const LAYER_NORM = "ClueLayerNorm";
export const LAYER_NORM_GRAD = "ClueLayerNormGrad";
export const GELU = "ClueGelu";
export const GELU_GRAD = "ClueGeluGrad";
export const L2_NORMALIZE = "ClueL2Normalize";
export const L2_NORMALIZE_GRAD = "ClueL2NormalizeGrad";
export const NEAREST_CENTER = "ClueNearestCenter";
export const CLUSTER_MEAN = "ClueClusterMean";
export const CLUSTER_MEAN_GRAD = "ClueClusterMeanGrad";
export const ADAMW = "ClueAdamW";
export const RESIDUAL = "ClueResidual";
export const RESIDUAL_SCALED = "ClueResidualScaled";
export const RESIDUAL_GRAD = "ClueResidualGrad";
export const CONV2D_BIAS = "ClueConv2DBias";
export const DEPTHWISE_CONV2D_BIAS = "ClueDepthwiseConv2DBias";
export const SOFT_AGGREGATE = "ClueSoftAggregate";
export const SOFT_AGGREGATE_GRAD = "ClueSoftAggregateGrad";
