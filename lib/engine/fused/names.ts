/** Kernel names of cluelab's fused ops (a backend with such a kernel runs the op as one kernel). */
export const LAYER_NORM = "ClueLayerNorm";
export const LAYER_NORM_GRAD = "ClueLayerNormGrad";
export const GELU = "ClueGelu";
export const GELU_GRAD = "ClueGeluGrad";
