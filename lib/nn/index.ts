/**
 * Small building blocks shared by models: a module system whose parameter names are the
 * official PyTorch state_dict keys, layers on channels-last maps, initialisers, a seeded random
 * stream, and a safetensors reader/writer.
 * @packageDocumentation
 */
export { Module, ModuleList, Parameter } from "./module.js";
export { WeightLayout } from "./layout.js";
export { Rng, type RngState } from "./rng.js";
export {
  constant, zeros, ones, normal, truncNormal, uniform, kaimingUniform, heNormalFanOut, pytorchDefault,
  type Initializer, type InitScheme, type Build,
} from "./init.js";
export { Linear, GroupLinear } from "./linear.js";
export { Conv2d, DepthwiseConv2d } from "./conv.js";
export { LayerNorm, GroupNorm, type Norm } from "./norm.js";
export { Mlp } from "./mlp.js";
export { gelu } from "../engine/index.js";
export { dropPath, dropPathMask, dropPathSchedule } from "./drop-path.js";
export {
  parseSafetensors, readSafetensors, serializeSafetensors, writeSafetensors, toFloat32, toInt32, SafetensorsError,
  type Safetensors, type SafetensorsDtype, type RawTensor, type TensorToWrite,
} from "./safetensors.js";
