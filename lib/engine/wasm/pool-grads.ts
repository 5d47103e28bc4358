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
