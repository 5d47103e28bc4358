/**
 * Convolution gradients the wasm backend lacks, composed from its XNNPACK convolutions, which are
 * GEMM-shaped and SIMD: no per-element JavaScript loops.
 */
import { tf } from "../tf.js";
import { assertNHWC, composedKernel, dilateSpatial, padOrCrop4d } from "../compose.js";

type Pad = "valid" | "same" | number | tf.backend_util.ExplicitPadding;
type RoundingMode = "floor" | "round" | "ceil" | undefined;
const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [v[0], v[1]] : [Number(v ?? 1), Number(v ?? 1)]);

/**
 * dW[kh,kw,ci,co] = Σ_{b,y,x} xpad[b, y·s+kh, x·s+kw, ci] · dy[b,y,x,co]
 * is a convolution of x (batch and channels swapped) with dy as the filter, dilated by the
 * forward stride: one big GEMM inside XNNPACK instead of kh·kw strided slices.
 */
export function conv2dBackpropFilter(backendName: string): tf.KernelConfig {
  return composedKernel("Conv2DBackpropFilter", backendName, ({ x, dy }, attrs) => {
    assertNHWC("Conv2DBackpropFilter", attrs.dataFormat);
    const filterShape = attrs.filterShape as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape,
      pair(attrs.strides),
      1,
      attrs.pad as Pad,
      attrs.dimRoundingMode as RoundingMode,
    );
    const { top, bottom, left, right } = info.padInfo;
    const [fh, fw, ci, co] = filterShape;
    const xT = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D; // [Ci,H,W,B]
    const xTp = padOrCrop4d(xT, top, bottom, left, right);
    const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [Ho,Wo,B,Co]
    const full = tf.conv2d(xTp, dyT, 1, "valid", "NHWC", [info.strideHeight, info.strideWidth]);
    const taps = tf.slice(full, [0, 0, 0, 0], [ci, fh, fw, co]); // [Ci,kh,kw,Co]
    return tf.transpose(taps, [1, 2, 0, 3]);
  });
}

/**
 * dx = correlation of the stride-dilated, re-padded dy with the spatially flipped filter whose
 * in/out channels are swapped: one XNNPACK convolution. Replaces wasm 4.22's own kernel, which
 * runs 5–10× slower than the forward convolution (1.4–1.9 GFLOP/s measured here).
 */
export function conv2dBackpropInput(backendName: string): tf.KernelConfig {
  return composedKernel("Conv2DBackpropInput", backendName, ({ dy, filter }, attrs) => {
    assertNHWC("Conv2DBackpropInput", attrs.dataFormat);
    const inputShape = attrs.inputShape as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      pair(attrs.strides),
      1,
      attrs.pad as Pad,
      attrs.dimRoundingMode as RoundingMode,
    );
    const [, h, w] = inputShape;
    const { top, left } = info.padInfo;
    const dyd = dilateSpatial(dy as tf.Tensor4D, info.strideHeight, info.strideWidth);
    const [, lh, lw] = dyd.shape;
    const dyp = padOrCrop4d(dyd, info.filterHeight - 1 - top, h + top - lh, info.filterWidth - 1 - left, w + left - lw);
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D; // [kh,kw,Co,Ci]
    return tf.conv2d(dyp, flipped, 1, "valid");
  });
}

/**
 * dx = depthwise correlation of the stride-dilated, re-padded dy with the flipped filter; a
 * channel multiplier M > 1 sums the M outputs that came from each input channel.
 */
export function depthwiseConv2dBackpropInput(backendName: string): tf.KernelConfig {
  return composedKernel("DepthwiseConv2dNativeBackpropInput", backendName, ({ dy, filter }, attrs) => {
    const inputShape = attrs.inputShape as [number, number, number, number];
    const [fh, fw, c, m] = filter.shape as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      pair(attrs.strides),
      pair(attrs.dilations),
      attrs.pad as Pad,
      attrs.dimRoundingMode as RoundingMode,
      true,
    );
    const [b, h, w] = inputShape;
    const { top, left } = info.padInfo;
    const dyd = dilateSpatial(dy as tf.Tensor4D, info.strideHeight, info.strideWidth);
    const [, lh, lw] = dyd.shape;
    const effH = info.effectiveFilterHeight;
    const effW = info.effectiveFilterWidth;
    const dyp = padOrCrop4d(dyd, effH - 1 - top, h + top - lh, effW - 1 - left, w + left - lw);
    const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [fh, fw, c * m, 1]) as tf.Tensor4D;
    const dx = tf.depthwiseConv2d(dyp, flipped, 1, "valid", "NHWC", [info.dilationHeight, info.dilationWidth]);
    return m === 1 ? dx : tf.sum(tf.reshape(dx, [b, h, w, c, m]), 4);
  });
}

/**
 * dW[t,c,m] = Σ_{b,p} xpad[b, p·s + t·d, c] · dy[b,p,c·M+m]: a depthwise convolution over
 * (channel, batch) pairs with dy as the filter, dilated by the forward stride, summed over batch.
 */
export function depthwiseConv2dBackpropFilter(backendName: string): tf.KernelConfig {
  return composedKernel("DepthwiseConv2dNativeBackpropFilter", backendName, ({ x, dy }, attrs) => {
    const filterShape = attrs.filterShape as [number, number, number, number];
    const [fh, fw, c, m] = filterShape;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape,
      pair(attrs.strides),
      pair(attrs.dilations),
      attrs.pad as Pad,
      attrs.dimRoundingMode as RoundingMode,
      true,
    );
    const { top, bottom, left, right } = info.padInfo;
    const [b] = x.shape;
    const xp = padOrCrop4d(x as tf.Tensor4D, top, bottom, left, right);
    const [, hp, wp] = xp.shape;
    const xr = m === 1 ? xp : tf.reshape(tf.tile(tf.reshape(xp, [b, hp, wp, c, 1]), [1, 1, 1, 1, m]), [b, hp, wp, c * m]);
    const k = c * m * b;
    const xT = tf.reshape(tf.transpose(xr, [1, 2, 3, 0]), [1, hp, wp, k]) as tf.Tensor4D; // channels (c,m,b)
    const [, ho, wo] = dy.shape;
    const dyT = tf.reshape(tf.transpose(dy, [1, 2, 3, 0]), [ho, wo, k, 1]) as tf.Tensor4D;
    const full = tf.depthwiseConv2d(xT, dyT, 1, "valid", "NHWC", [info.strideHeight, info.strideWidth]);
    const { dilationHeight: dh, dilationWidth: dw } = info;
    const taps =
      dh === 1 && dw === 1
        ? tf.slice(full, [0, 0, 0, 0], [1, fh, fw, k])
        : tf.stridedSlice(full, [0, 0, 0, 0], [1, (fh - 1) * dh + 1, (fw - 1) * dw + 1, k], [1, dh, dw, 1]);
    return tf.reshape(tf.sum(tf.reshape(taps, [fh, fw, c * m, b]), 3), filterShape);
  });
}
