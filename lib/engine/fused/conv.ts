/** Convolutions with a bias as one op (the bias added in the convolution's epilogue). */
import { tf } from "../tf.js";
import { gelu } from "./activation.js";
import { runKernels, useKernel } from "./dispatch.js";
import { CONV2D_BIAS, DEPTHWISE_CONV2D_BIAS, DEPTHWISE_CONV2D_BIAS_GELU, DEPTHWISE_CONV2D_BIAS_GELU_GRAD, DEPTHWISE_CONV2D_BIAS_GRAD } from "./names.js";

type Pad = number | "same" | "valid";

/**
 * conv2d(x, filter) + bias on NHWC maps, x [B, H, W, in], filter [kh, kw, in, out], bias [out]:
 * one kernel adding the bias in the convolution's epilogue on backends that have one (one pass
 * over the output instead of two), `tf.add(tf.conv2d(…), bias)` elsewhere. Gradients: the
 * convolution's two, each computed only when asked for (a stem's input needs none), and
 * dbias = Σ_{B,H,W} dy.
 */
export function conv2dBias(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, strides: number, pad: Pad): tf.Tensor4D {
  checkBias("conv2dBias", x, filter, bias, filter.shape[3], "[kh, kw, in, out]", filter.shape[2] === x.shape[3]);
  if (!useKernel(CONV2D_BIAS, conv2dBiasGradient)) return tf.tidy(() => tf.add(tf.conv2d(x, filter, strides, pad), bias));
  return tf.engine().runKernel(CONV2D_BIAS, { x, filter, bias }, { strides, pad }) as tf.Tensor4D;
}

/**
 * depthwiseConv2d(x, filter) + bias, filter [kh, kw, C, 1], bias [C]: as {@link conv2dBias}, for
 * the depthwise convolution with channel multiplier 1. On backends with a kernel for all three
 * gradients at once, that one runs instead (one pass over dy; dx is then computed even when
 * not asked for).
 */
export function depthwiseConv2dBias(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, strides: number, pad: Pad): tf.Tensor4D {
  checkBias("depthwiseConv2dBias", x, filter, bias, x.shape[3], "[kh, kw, C, 1]", filter.shape[2] === x.shape[3] && filter.shape[3] === 1);
  if (!useKernel(DEPTHWISE_CONV2D_BIAS, depthwiseBiasGradient)) return tf.tidy(() => tf.add(tf.depthwiseConv2d(x, filter, strides, pad), bias));
  return tf.engine().runKernel(DEPTHWISE_CONV2D_BIAS, { x, filter, bias }, { strides, pad }) as tf.Tensor4D;
}

/**
 * gelu(depthwiseConv2d(x, filter) + bias) (the exact GELU of {@link gelu}), filter [kh, kw, C, 1],
 * bias [C]: PVTv2's MLP middle (depthwise 3×3 then GELU) as one op. On backends with a kernel for
 * it, the forward pass keeps what the backward pass needs of the pre-activation z, gelu'(z),
 * only while a gradient tape records, and the backward pass forms dz = dy·gelu'(z) inside the
 * one sweep that computes all three gradients (dz, a map as large as the output, never goes to
 * memory); elsewhere exactly `gelu(depthwiseConv2dBias(x, filter, bias, strides, pad))`.
 */
export function depthwiseConv2dBiasGelu(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, strides: number, pad: Pad): tf.Tensor4D {
  checkBias("depthwiseConv2dBiasGelu", x, filter, bias, x.shape[3], "[kh, kw, C, 1]", filter.shape[2] === x.shape[3] && filter.shape[3] === 1);
  if (!useKernel(DEPTHWISE_CONV2D_BIAS_GELU)) return tf.tidy(() => gelu(depthwiseConv2dBias(x, filter, bias, strides, pad)));
  const attrs = { strides, pad };
  if (!(tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn()) {
    return tf.engine().runKernel(DEPTHWISE_CONV2D_BIAS_GELU, { x, filter, bias }, { ...attrs, keepSlope: false }) as tf.Tensor4D;
  }
  return depthwiseGeluWithGradient(attrs)(x, filter, bias) as tf.Tensor4D;
}

/**
 * The fused kernel as a taped op whose saved tensors are the inputs and slope = gelu'(z), a second
 * output of the kernel that the op does not return (a kernel output would get a zero-filled
 * gradient map of its own from the tape).
 */
const depthwiseGeluWithGradient = (attrs: { strides: number; pad: Pad }) =>
  tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, filter, bias] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const [y, slope] = runKernels(DEPTHWISE_CONV2D_BIAS_GELU, { x: x!, filter: filter!, bias: bias! }, { ...attrs, keepSlope: true });
    save([x!, filter!, slope!]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sf, sslope] = saved;
        return runKernels(DEPTHWISE_CONV2D_BIAS_GELU_GRAD, { dy, x: sx!, filter: sf!, slope: sslope! }, attrs);
      },
    };
  });

function checkBias(name: string, x: tf.Tensor, filter: tf.Tensor, bias: tf.Tensor, out: number | undefined, layout: string, fits: boolean): void {
  if (x.rank !== 4 || filter.rank !== 4 || !fits || bias.rank !== 1 || bias.shape[0] !== out) {
    throw new Error(
      `${name}: x ${JSON.stringify(x.shape)}, filter ${JSON.stringify(filter.shape)} and bias ${JSON.stringify(bias.shape)} must be ` +
        `[B, H, W, C], ${layout} and one bias per output channel`,
    );
  }
}

/**
 * The gradient of a convolution-with-bias kernel: the gradient kernels tfjs' own conv2d /
 * depthwiseConv2d gradients run (with their attributes), one closure per input so tfjs runs
 * only those it needs.
 */
function biasGradient(kernelName: string, input: string, filter: string, extra: Record<string, unknown>): () => tf.GradConfig {
  return () => ({
    kernelName,
    inputsToSave: ["x", "filter"],
    gradFunc: (dy, saved, attrs) => {
      const g = dy as tf.Tensor4D;
      const [x, w] = saved as [tf.Tensor4D, tf.Tensor4D];
      const a = { ...(attrs as { strides: number; pad: Pad }), dimRoundingMode: undefined as unknown as string, ...extra };
      return {
        x: () => tf.engine().runKernel(input, { dy: g, filter: w }, { ...a, inputShape: x.shape }) as tf.Tensor,
        filter: () => tf.engine().runKernel(filter, { x, dy: g }, { ...a, filterShape: w.shape }) as tf.Tensor,
        bias: () => tf.sum(g, [0, 1, 2]),
      };
    },
  });
}

const conv2dBiasGradient = biasGradient(CONV2D_BIAS, "Conv2DBackpropInput", "Conv2DBackpropFilter", { dataFormat: "NHWC" });
const depthwiseSeparateGradients = biasGradient(DEPTHWISE_CONV2D_BIAS, "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter", {
  dilations: 1,
});

function depthwiseBiasGradient(): tf.GradConfig {
  const separate = depthwiseSeparateGradients();
  return {
    ...separate,
    gradFunc: (dy, saved, attrs) => {
      if (!tf.getKernel(DEPTHWISE_CONV2D_BIAS_GRAD, tf.getBackend())) return separate.gradFunc(dy, saved, attrs);
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      // One kernel gives all three, run here and not inside the per-input closures: tfjs runs
      // each closure in its own tidy, which would dispose the others.
      const [dx, dfilter, dbias] = runKernels(DEPTHWISE_CONV2D_BIAS_GRAD, { dy: dy as tf.Tensor, x, filter }, { ...(attrs as tf.NamedAttrMap), dilations: 1 });
      return { x: () => dx!, filter: () => dfilter!, bias: () => dbias! };
    },
  };
}
