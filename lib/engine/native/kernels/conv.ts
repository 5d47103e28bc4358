/**
 * Convolutions (dense, depthwise, fused with bias and activation), their gradients, and 2-D
 * pooling with its gradients, on oneDNN in NHWC (some depthwise cases on the addon's own
 * kernels: {@link handWritten}). NCHW inputs go to the cpu kernels.
 */
import { tf } from "../../tf.js";
import {
  CONV2D_BIAS, DEPTHWISE_CONV2D_BIAS, DEPTHWISE_CONV2D_BIAS_GELU, DEPTHWISE_CONV2D_BIAS_GELU_GRAD, DEPTHWISE_CONV2D_BIAS_GRAD,
} from "../../fused/names.js";
import type { NativeBackend } from "../backend.js";
import { AVG_TILES, windowsTile } from "./avgpool.js";
import { BACKEND_NAME, i32, nativeKernel, sizeOf, type Attrs, type Inputs } from "./common.js";
import { binaryOp } from "./elementwise.js";
import { REDUCE_OP } from "./reduce.js";

type Info = tf.backend_util.Conv2DInfo;
type Shape4 = [number, number, number, number];
type Pad = "valid" | "same" | number | tf.backend_util.ExplicitPadding;
type Rounding = "floor" | "round" | "ceil" | undefined;

/** The addon's conv/depthwise modes. */
export const CONV = { forward: 0, backwardData: 1, backwardWeights: 2 } as const;
const POOL = { maxForward: 0, avgForward: 1, maxBackward: 2, avgBackward: 3 } as const;

const isNHWC = (attrs: Attrs) => attrs.dataFormat === undefined || attrs.dataFormat === "NHWC" || attrs.dataFormat === "channelsLast";

/**
 * Bottom/right padding that makes oneDNN's output size formula give tfjs' output size (they
 * differ with dimRoundingMode "ceil", which reads past the edge).
 */
function farPad(input: number, out: number, effFilter: number, stride: number, near: number, far: number): number {
  const outputs = (p: number) => Math.floor((input - effFilter + near + p) / stride) + 1;
  let p = far;
  while (outputs(p) < out) p++;
  while (outputs(p) > out) p--;
  return p;
}

/** The addon's conv/depthwise parameter block for `info` (native/src/conv.cc documents it). */
export function convParams(info: Info, groups: number): Int32Array {
  const { top, left } = info.padInfo;
  const bottom = farPad(info.inHeight, info.outHeight, info.effectiveFilterHeight, info.strideHeight, top, info.padInfo.bottom);
  const right = farPad(info.inWidth, info.outWidth, info.effectiveFilterWidth, info.strideWidth, left, info.padInfo.right);
  return i32([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
    top, left, bottom, right, groups,
  ]);
}

function convInfo(xShape: number[], filterShape: number[], attrs: Attrs, depthwise: boolean): Info {
  return tf.backend_util.computeConv2DInfo(
    xShape as Shape4,
    filterShape as Shape4,
    attrs.strides as number | [number, number],
    (attrs.dilations ?? 1) as number | [number, number],
    attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding,
    depthwise,
  );
}

/**
 * Whether a depthwise convolution runs on the addon's own kernels (depthwise.cc, channel
 * multiplier 1) rather than oneDNN: where they measured faster (`npm run bench -- depthwise`,
 * batch 64 on CLUE_nano's shapes, 2 threads; oneDNN's time / ours). Data gradient: 1.1–1.3× at
 * stride 1, 1.2–1.8× at stride 2. Forward: 1.1–1.2× at 16 channels, about even (0.94–1.15×) on
 * rows 8–32 wide, 0.7–0.8× on rows 4 wide (kept on oneDNN), 1.25–2× at stride 2. Filter
 * gradient: 0.6–1.07× at stride 1 (kept on oneDNN), 1.2–1.6× at stride 2. Channel counts that
 * are not a multiple of 16 leave a scalar remainder (0.5–0.75×): oneDNN. (Since whole rows of
 * 64 channels are done at once, the filter gradient at stride 1 measured 1.45× on [32,32,64],
 * 1.07× on [16,16,128], 0.87× on [8,8,256] on a loaded machine: not re-routed yet.)
 */
export function handWritten(mode: number, info: Info): boolean {
  if (info.outChannels !== info.inChannels || info.inChannels % 16 !== 0) return false;
  if (info.dilationHeight > 1 || info.dilationWidth > 1) return false;  // not measured
  const strided = info.strideHeight > 1 || info.strideWidth > 1;
  if (mode === CONV.backwardData) return true;
  if (mode === CONV.forward) return strided || info.outWidth >= 8;
  return strided;
}

/**
 * Whether a dense convolution runs on the addon's narrowConv (narrowconv.cc: forward and filter
 * gradient over few input channels, a network's stem) rather than oneDNN: filter width × input
 * channels of 3, 6, 9 or 12 (3-wide filters over 1–4 channels), output channels in 16s, dilation
 * 1. On CLUE_nano's stem ([64,32,32,3] → 16, 3×3) at 1 thread, alternating with oneDNN in one
 * process on a loaded machine: forward 5–12% faster, filter gradient 2–12% (oneDNN is already
 * near the FMA peak there); the data gradient stays on oneDNN.
 */
export function narrowDense(mode: number, info: Info): boolean {
  if (mode === CONV.backwardData || info.outChannels % 16 !== 0) return false;
  if (info.dilationHeight > 1 || info.dilationWidth > 1) return false;
  return [3, 6, 9, 12].includes(info.filterWidth * info.inChannels);
}

/** Runs one convolution mode; a forward one adds `bias` [outChannels] in its epilogue. */
function runConv(backend: NativeBackend, mode: number, info: Info, depthwise: boolean, in1: tf.TensorInfo, in2: tf.TensorInfo,
  bias?: tf.TensorInfo): tf.TensorInfo {
  const groups = depthwise ? info.inChannels : 1;
  const outShape =
    mode === CONV.forward ? info.outShape : mode === CONV.backwardData ? info.inShape : [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels / groups];
  const out = backend.alloc(sizeOf(outShape), "float32");
  const run = depthwise ? (handWritten(mode, info) ? backend.addon.depthwise : backend.addon.conv) : narrowDense(mode, info) ? backend.addon.narrowConv : backend.addon.conv;
  run(mode, out, backend.values(in1), backend.values(in2), convParams(info, groups), bias ? backend.values(bias) : null);
  return backend.output(out, outShape.slice(), "float32");
}

const floats = (...ts: Array<tf.TensorInfo | undefined>) => ts.every((t) => t === undefined || t.dtype === "float32");

export const conv2D = nativeKernel("Conv2D", ({ x, filter }, backend, attrs) => {
  if (!isNHWC(attrs) || !floats(x, filter)) return undefined;
  return runConv(backend, CONV.forward, convInfo(x!.shape, filter!.shape, attrs, false), false, x!, filter!);
});

export const conv2DBackpropInput = nativeKernel("Conv2DBackpropInput", ({ dy, filter }, backend, attrs) => {
  if (!isNHWC(attrs) || !floats(dy, filter)) return undefined;
  const info = convInfo(attrs.inputShape as number[], filter!.shape, { ...attrs, dilations: 1 }, false);
  return runConv(backend, CONV.backwardData, info, false, dy!, filter!);
});

export const conv2DBackpropFilter = nativeKernel("Conv2DBackpropFilter", ({ x, dy }, backend, attrs) => {
  if (!isNHWC(attrs) || !floats(x, dy)) return undefined;
  const info = convInfo(x!.shape, attrs.filterShape as number[], { ...attrs, dilations: 1 }, false);
  return runConv(backend, CONV.backwardWeights, info, false, x!, dy!);
});

export const depthwiseConv2D = nativeKernel("DepthwiseConv2dNative", ({ x, filter }, backend, attrs) => {
  if (!floats(x, filter)) return undefined;
  return runConv(backend, CONV.forward, convInfo(x!.shape, filter!.shape, attrs, true), true, x!, filter!);
});

export const depthwiseConv2DBackpropInput = nativeKernel("DepthwiseConv2dNativeBackpropInput", ({ dy, filter }, backend, attrs) => {
  if (!floats(dy, filter)) return undefined;
  return runConv(backend, CONV.backwardData, convInfo(attrs.inputShape as number[], filter!.shape, attrs, true), true, dy!, filter!);
});

export const depthwiseConv2DBackpropFilter = nativeKernel("DepthwiseConv2dNativeBackpropFilter", ({ x, dy }, backend, attrs) => {
  if (!floats(x, dy)) return undefined;
  return runConv(backend, CONV.backwardWeights, convInfo(x!.shape, attrs.filterShape as number[], attrs, true), true, x!, dy!);
});

/**
 * A bias the convolution can add in its epilogue: one per output channel (tfjs also allows any
 * shape that broadcasts against the output; those are added afterwards).
 */
const epilogueBias = (bias: tf.TensorInfo | undefined, info: Info) => (bias && sizeOf(bias.shape) === info.outChannels && bias.shape.length <= 1 ? bias : undefined);

/** Adds the bias (unless the convolution did) and applies the activation of a fused op to `y`, consuming `y`. */
function biasAndActivation(backend: NativeBackend, y: tf.TensorInfo, inputs: Inputs, attrs: Attrs, biasDone: boolean): tf.TensorInfo {
  let current = y;
  if (inputs.bias && !biasDone) {
    const sum = binaryOp(backend, "Add", current, inputs.bias);
    backend.disposeIntermediateTensorInfo(current);
    current = sum;
  }
  const activation = (attrs.activation as string | undefined) ?? "linear";
  if (activation === "linear") return current;
  const names: Record<string, string> = { relu: "Relu", relu6: "Relu6", elu: "Elu", sigmoid: "Sigmoid", leakyrelu: "LeakyRelu", prelu: "Prelu" };
  const kernel = tf.getKernel(names[activation] ?? activation, BACKEND_NAME);
  if (!kernel) throw new Error(`no kernel for the fused activation ${activation}`);
  const activated = kernel.kernelFunc({
    inputs: activation === "prelu" ? { x: current, alpha: inputs.preluActivationWeights! } : { x: current },
    backend,
    attrs: activation === "leakyrelu" ? { alpha: Number(attrs.leakyreluAlpha ?? 0.2) } : {},
  }) as tf.TensorInfo;
  backend.disposeIntermediateTensorInfo(current);
  return activated;
}

export const fusedConv2D = nativeKernel("FusedConv2D", (inputs, backend, attrs) => {
  const { x, filter, bias } = inputs;
  if (!isNHWC(attrs) || !floats(x, filter, bias)) return undefined;
  const info = convInfo(x!.shape, filter!.shape, attrs, false);
  const fused = epilogueBias(bias, info);
  const y = runConv(backend, CONV.forward, info, false, x!, filter!, fused);
  return biasAndActivation(backend, y, inputs, attrs, fused !== undefined);
});

export const fusedDepthwiseConv2D = nativeKernel("FusedDepthwiseConv2D", (inputs, backend, attrs) => {
  const { x, filter, bias } = inputs;
  if (!floats(x, filter, bias)) return undefined;
  const info = convInfo(x!.shape, filter!.shape, attrs, true);
  const fused = epilogueBias(bias, info);
  const y = runConv(backend, CONV.forward, info, true, x!, filter!, fused);
  return biasAndActivation(backend, y, inputs, attrs, fused !== undefined);
});

/** cluelab's conv2dBias and depthwiseConv2dBias (lib/engine/fused/conv.ts): the bias added in the convolution's epilogue. */
const convWithBias = (name: string, depthwise: boolean) =>
  nativeKernel(name, ({ x, filter, bias }, backend, attrs) => {
    if (!floats(x, filter, bias)) throw new Error(`${name}: x, filter and bias must be float32`);
    return runConv(backend, CONV.forward, convInfo(x!.shape, filter!.shape, attrs, depthwise), depthwise, x!, filter!, bias);
  });

/**
 * Whether depthwiseConv2dBias's three gradients come from one sweep over dy (depthwise.cc's
 * depthwiseGrad) rather than the separate kernels as routed plus a Sum: where it measured faster
 * (`npm run bench -- depthwise`, batch 64, 2 threads, separate / one sweep, two runs on a loaded
 * machine): 1.3–1.45× on [32,32,64], 1.4–1.7× on [16,16,128], 1.3–1.5× on [8,8,256], 0.96–1.1× at
 * stride 2; not on 16 channels (0.9–1.03×), rows 4 wide (0.7–1.6×, too noisy to call) or channel
 * counts that are not a multiple of 16 (0.3×).
 */
export function oneSweepGradients(info: Info): boolean {
  if (info.outChannels !== info.inChannels || info.inChannels % 16 !== 0 || info.inChannels < 32) return false;
  if (info.dilationHeight > 1 || info.dilationWidth > 1) return false;
  return info.strideHeight > 1 || info.strideWidth > 1 || info.outWidth >= 8;
}

/**
 * The three gradients of depthwiseConv2dBias (dx, dFilter, dBias): one sweep over dy where
 * {@link oneSweepGradients} says so (dy read once instead of three times), else the data and
 * filter gradient kernels as routed and a sum over dy's pixels (what tfjs' gradients would run).
 */
export const depthwiseConv2DBiasGrad = nativeKernel(DEPTHWISE_CONV2D_BIAS_GRAD, ({ dy, x, filter }, backend, attrs) => {
  if (!floats(dy, x, filter)) throw new Error(`${DEPTHWISE_CONV2D_BIAS_GRAD}: dy, x and filter must be float32`);
  return depthwiseBiasGradients(backend, convInfo(x!.shape, filter!.shape, attrs, true), dy!, x!, filter!);
});

function depthwiseBiasGradients(backend: NativeBackend, info: Info, dy: tf.TensorInfo, x: tf.TensorInfo, filter: tf.TensorInfo): tf.TensorInfo[] {
  if (!oneSweepGradients(info)) {
    const dBias = backend.alloc(info.inChannels, "float32");
    backend.addon.reduce(REDUCE_OP.sum, dBias, backend.values(dy), 1, sizeOf(dy.shape) / info.inChannels, info.inChannels);
    return [
      runConv(backend, CONV.backwardData, info, true, dy, filter), runConv(backend, CONV.backwardWeights, info, true, x, dy),
      backend.output(dBias, [info.inChannels], "float32"),
    ];
  }
  return oneSweep(backend, info, x, filter, (dx, dFilter, dBias, params) =>
    backend.addon.depthwiseGrad(dx, dFilter, dBias, backend.values(dy), backend.values(x), backend.values(filter), params));
}

/** dx, dFilter and dBias of a depthwise convolution as `sweep` writes them in one call. */
function oneSweep(
  backend: NativeBackend,
  info: Info,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  sweep: (dx: Float32Array, dFilter: Float32Array, dBias: Float32Array, params: Int32Array) => void,
): tf.TensorInfo[] {
  const dx = backend.alloc(sizeOf(x.shape), "float32");
  const dFilter = backend.alloc(sizeOf(filter.shape), "float32");
  const dBias = backend.alloc(info.inChannels, "float32");
  sweep(dx, dFilter, dBias, convParams(info, info.inChannels));
  return [backend.output(dx, x.shape.slice(), "float32"), backend.output(dFilter, filter.shape.slice(), "float32"), backend.output(dBias, [info.inChannels], "float32")];
}

/**
 * cluelab's depthwiseConv2dBiasGelu forward: y = gelu(z), z = depthwiseConv2dBias's convolution,
 * and with attrs.keepSlope also slope = gelu'(z), all the backward pass needs of z (saving it
 * instead of z moves the derivative's math into the forward GELU, which shares most of it, and
 * leaves the backward pass one multiply per element). On the hand-written convolution, depthwise.cc's
 * depthwiseGelu applies GELU to a few output rows at a time while they are in cache; elsewhere
 * (rows narrower than 8) oneDNN's convolution writes z and the GELU kernel follows in place.
 * (GELU applied inside the convolution's register tile measured slower: 0.6–1.07× on
 * CLUE_nano's MLP shapes.)
 */
export const depthwiseConv2DBiasGelu = nativeKernel(DEPTHWISE_CONV2D_BIAS_GELU, ({ x, filter, bias }, backend, attrs) => {
  if (!floats(x, filter, bias)) throw new Error(`${DEPTHWISE_CONV2D_BIAS_GELU}: x, filter and bias must be float32`);
  const info = convInfo(x!.shape, filter!.shape, attrs, true);
  const size = sizeOf(info.outShape);
  const y = backend.alloc(size, "float32");
  const slope = attrs.keepSlope === true ? backend.alloc(size, "float32") : null;
  const params = convParams(info, info.inChannels);
  if (handWritten(CONV.forward, info)) {
    backend.addon.depthwiseGelu(y, slope, backend.values(x!), backend.values(filter!), backend.values(bias!), params);
  } else {
    const z = slope ?? y;  // GELU then runs in place
    backend.addon.conv(CONV.forward, z, backend.values(x!), backend.values(filter!), params, backend.values(bias!));
    backend.addon.gelu(y, z, slope);
  }
  const out = backend.output(y, info.outShape.slice(), "float32");
  return slope ? [out, backend.output(slope, info.outShape.slice(), "float32")] : out;
});

/**
 * Whether depthwiseConv2dBiasGelu's gradients come from depthwiseGeluGrad's one sweep: as
 * {@link oneSweepGradients}, and also on rows narrower than 8, where the alternative is four
 * kernels, oneDNN's among them (`npm run bench -- dwgelu`, batch 64, 2 threads, on a heavily
 * loaded machine: medians 2.4–4.6× on [64,4,4,512]; best-of-60 times about even, 0.9–1.0×).
 */
export function oneSweepGeluGradients(info: Info): boolean {
  if (info.outChannels !== info.inChannels || info.inChannels % 16 !== 0 || info.inChannels < 32) return false;
  return info.dilationHeight === 1 && info.dilationWidth === 1;
}

/**
 * depthwiseConv2dBiasGelu's three gradients (dx, dFilter, dBias) from dy, x, filter and the
 * slope = gelu'(z) the forward pass saved: depthwise.cc's depthwiseGeluGrad (dz = dy·slope formed
 * a few rows at a time inside depthwiseGrad's one sweep, never written out) where {@link
 * oneSweepGeluGradients} says so, else dz = dy·slope by the Mul kernel and depthwiseConv2dBias's
 * gradients.
 */
export const depthwiseConv2DBiasGeluGrad = nativeKernel(DEPTHWISE_CONV2D_BIAS_GELU_GRAD, ({ dy, x, filter, slope }, backend, attrs) => {
  if (!floats(dy, x, filter, slope)) throw new Error(`${DEPTHWISE_CONV2D_BIAS_GELU_GRAD}: dy, x, filter and slope must be float32`);
  const info = convInfo(x!.shape, filter!.shape, attrs, true);
  if (!oneSweepGeluGradients(info)) {
    const dz = binaryOp(backend, "Multiply", dy!, slope!);
    const grads = depthwiseBiasGradients(backend, info, dz, x!, filter!);
    backend.disposeIntermediateTensorInfo(dz);
    return grads;
  }
  return oneSweep(backend, info, x!, filter!, (dx, dFilter, dBias, params) =>
    backend.addon.depthwiseGeluGrad(dx, dFilter, dBias, backend.values(dy!), backend.values(x!), backend.values(filter!), backend.values(slope!), params));
});

/** tfjs' geometry of a pool kernel call on an input of `xShape`. */
export function poolInfo(xShape: number[], attrs: Attrs) {
  return tf.backend_util.computePool2DInfo(
    xShape as Shape4,
    attrs.filterSize as number | [number, number],
    attrs.strides as number | [number, number],
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding,
  );
}

/** The addon's pool parameter block for `info` (native/src/conv.cc documents it). */
export function poolParams(info: Info): Int32Array {
  const { top, left } = info.padInfo;
  const bottom = farPad(info.inHeight, info.outHeight, info.filterHeight, info.strideHeight, top, info.padInfo.bottom);
  const right = farPad(info.inWidth, info.outWidth, info.filterWidth, info.strideWidth, left, info.padInfo.right);
  return i32([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.filterHeight,
    info.filterWidth, info.strideHeight, info.strideWidth, top, left, bottom, right,
  ]);
}

const poolForward = (name: string, mode: number) =>
  nativeKernel(name, ({ x }, backend, attrs) => {
    if (!floats(x)) return undefined;
    const info = poolInfo(x!.shape, attrs);
    if (info.filterWidth === 1 && info.filterHeight === 1 && tf.util.arraysEqual(info.inShape, info.outShape)) return undefined;
    const out = backend.alloc(sizeOf(info.outShape), "float32");
    const params = poolParams(info);
    if (mode === POOL.avgForward && windowsTile(params)) backend.addon.avgPoolTiles(AVG_TILES.forward, out, backend.values(x!), params);
    else backend.addon.pool(mode, out, backend.values(x!), null, params);
    return backend.output(out, info.outShape.slice(), "float32");
  });

export const maxPoolGrad = nativeKernel("MaxPoolGrad", ({ dy, input }, backend, attrs) => {
  if (!floats(dy, input)) return undefined;
  const info = poolInfo(input!.shape, attrs);
  const out = backend.alloc(sizeOf(input!.shape), "float32");
  backend.addon.pool(POOL.maxBackward, out, backend.values(input!), backend.values(dy!), poolParams(info));
  return backend.output(out, input!.shape.slice(), "float32");
});

export const avgPoolGrad = nativeKernel("AvgPoolGrad", ({ dy, input }, backend, attrs) => {
  if (!floats(dy, input)) return undefined;
  const info = poolInfo(input!.shape, attrs);
  const out = backend.alloc(sizeOf(input!.shape), "float32");
  const params = poolParams(info);
  if (windowsTile(params)) backend.addon.avgPoolTiles(AVG_TILES.gradient, out, backend.values(dy!), params);
  else backend.addon.pool(POOL.avgBackward, out, backend.values(dy!), null, params);
  return backend.output(out, input!.shape.slice(), "float32");
});

export const convKernels: tf.KernelConfig[] = [
  conv2D, conv2DBackpropInput, conv2DBackpropFilter, depthwiseConv2D, depthwiseConv2DBackpropInput, depthwiseConv2DBackpropFilter,
  fusedConv2D, fusedDepthwiseConv2D, convWithBias(CONV2D_BIAS, false), convWithBias(DEPTHWISE_CONV2D_BIAS, true), depthwiseConv2DBiasGrad,
  depthwiseConv2DBiasGelu, depthwiseConv2DBiasGeluGrad,
  poolForward("MaxPool", POOL.maxForward), poolForward("AvgPool", POOL.avgForward), maxPoolGrad, avgPoolGrad,
];
