/**
 * A max-pool gradient that agrees with the cpu backend: within each window the gradient goes to
 * the first maximum in scan order, windows whose values are all -Infinity or NaN pass none, and
 * padding never wins (wasm 4.22's own MaxPoolGrad sends it to the wrong place when every value
 * in a window is negative).
 */
import { tf } from "../tf.js";
import { composedKernel, dilateSpatial, padOrCrop4d } from "../compose.js";

export function maxPoolGrad(backendName: string): tf.KernelConfig {
  return composedKernel("MaxPoolGrad", backendName, ({ dy, input, output }, attrs) => {
    const x = input as tf.Tensor4D;
    const info = tf.backend_util.computePool2DInfo(
      x.shape,
      attrs.filterSize as [number, number] | number,
      attrs.strides as [number, number] | number,
      1,
      attrs.pad as "valid" | "same" | number,
      attrs.dimRoundingMode as "floor" | "round" | "ceil" | undefined,
    );
    if (isNonOverlapping(info)) return nonOverlappingMaxPoolGrad(x, output!, dy!, info);
    const { top, bottom, left, right } = info.padInfo;
    const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const { filterHeight: fh, filterWidth: fw, outHeight: ho, outWidth: wo } = info;
    const [b, , , c] = x.shape;
    const xp = padOrCrop4d(x, top, bottom, left, right, -Infinity);
    const [, hp, wp] = xp.shape;
    const zeros = tf.zerosLike(dy);
    let taken = tf.zerosLike(dy).cast("bool");
    let acc: tf.Tensor4D = tf.zeros([b, hp, wp, c]);
    for (let r = 0; r < fh; r++) {
      for (let s = 0; s < fw; s++) {
        const y0 = r * dh;
        const x0 = s * dw;
        const tap = tf.stridedSlice(xp, [0, y0, x0, 0], [b, y0 + (ho - 1) * sh + 1, x0 + (wo - 1) * sw + 1, c], [1, sh, sw, 1]);
        const isMax = tf.logicalAnd(tf.equal(tap, output), tf.greater(tap, -Infinity));
        const hit = tf.logicalAnd(isMax, tf.logicalNot(taken));
        taken = tf.logicalOr(taken, hit);
        const placed = dilateSpatial(tf.where(hit, dy, zeros) as tf.Tensor4D, sh, sw);
        const [, ph, pw] = placed.shape;
        acc = tf.add(acc, padOrCrop4d(placed, y0, hp - y0 - ph, x0, wp - x0 - pw));
      }
    }
    return padOrCrop4d(acc, -top, -bottom, -left, -right);
  });
}

type PoolInfo = ReturnType<typeof tf.backend_util.computePool2DInfo>;

/** Windows that tile the image without overlap or padding (2×2 stride 2, the usual case). */
function isNonOverlapping(info: PoolInfo): boolean {
  const { top, left, bottom, right } = info.padInfo;
  return (
    info.strideHeight === info.filterHeight &&
    info.strideWidth === info.filterWidth &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    top === 0 && left === 0 && bottom === 0 && right === 0
  );
}

/**
 * The same gradient without slicing (wasm's slice kernels are slow): the image is reshaped into
 * its windows, each compared with its maximum; a cumulative sum over the window in scan order keeps
 * only the first hit, and dy is scattered back by the inverse reshape. Operands are spread to full
 * shape because wasm's broadcasting binary ops (and Tile) are slow on high-rank tensors.
 */
function nonOverlappingMaxPoolGrad(x: tf.Tensor4D, y: tf.Tensor, dy: tf.Tensor, info: PoolInfo): tf.Tensor {
  const { filterHeight: kh, filterWidth: kw, outHeight: ho, outWidth: wo } = info;
  const [b, h, w, c] = x.shape;
  const k = kh * kw;
  const tiled = padOrCrop4d(x, 0, ho * kh - h, 0, wo * kw - w, -Infinity);
  // [B,Ho,kh,Wo,kw,C] → [B,Ho,Wo,C,kh·kw]: each window's values last, in scan order
  const windows = tf.reshape(tf.transpose(tf.reshape(tiled, [b, ho, kh, wo, kw, c]), [0, 1, 3, 5, 2, 4]), [b, ho, wo, c, k]);
  // Each window's scalar repeated k times, as an outer product: wasm's Tile is slow, GEMM is not.
  const ones = tf.ones([1, k]);
  const spread = (t: tf.Tensor) => tf.reshape(tf.matMul(tf.reshape(t, [-1, 1]), ones), [b, ho, wo, c, k]);
  const isMax = tf.logicalAnd(tf.equal(windows, spread(y)), tf.greater(windows, -Infinity));
  const hits = tf.cast(isMax, "float32");
  const first = tf.mul(hits, tf.cast(tf.equal(tf.cumsum(hits, 4), 1), "float32"));
  const routed = tf.mul(first, spread(dy));
  const back = tf.transpose(tf.reshape(routed, [b, ho, wo, c, kh, kw]), [0, 1, 4, 2, 5, 3]);
  return padOrCrop4d(tf.reshape(back, [b, ho * kh, wo * kw, c]) as tf.Tensor4D, 0, h - ho * kh, 0, w - wo * kw);
}
