/** Center proposals: adaptive average pooling, optionally inside fold regions, and the fold-region mask. */
import { tf } from "../engine/index.js";

/**
 * [out, size] averaging matrix of PyTorch's adaptive average pooling along one axis, applied
 * inside each of `folds` equal segments (Context Clusters' fold regions): window i of a segment of
 * length L with p outputs spans [⌊iL/p⌋, ⌈(i+1)L/p⌉).
 */
export function poolMatrix(size: number, out: number, folds = 1): Float32Array {
  const seg = size / folds;
  const per = out / folds;
  const m = new Float32Array(out * size);
  for (let f = 0; f < folds; f++) {
    for (let i = 0; i < per; i++) {
      const a = Math.floor((i * seg) / per);
      const b = Math.ceil(((i + 1) * seg) / per);
      for (let j = a; j < b; j++) m[(f * per + i) * size + f * seg + j] = 1 / (b - a);
    }
  }
  return m;
}

/**
 * Adaptive average pooling of x [B, H, W, C] to [B, oh, ow, C], per fold region when folds > 1.
 * Equal windows (H % oh = W % ow = 0, the configs' case) are one avgPool; other sizes use two
 * products with the exact averaging matrices.
 */
export function adaptiveAvgPool(x: tf.Tensor4D, oh: number, ow: number, folds = 1): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  if (h % folds !== 0 || w % folds !== 0) {
    throw new Error(`a ${h}×${w} map cannot be split into ${folds}×${folds} fold regions`);
  }
  if (oh === h && ow === w) return x;
  if (h % oh === 0 && w % ow === 0) return tf.avgPool(x, [h / oh, w / ow], [h / oh, w / ow], "valid");
  return tf.tidy(() => {
    const ph = tf.tensor2d(poolMatrix(h, oh, folds), [oh, h]);
    const pw = tf.tensor2d(poolMatrix(w, ow, folds), [ow, w]);
    const rows = tf.matMul(ph, tf.reshape(tf.transpose(x, [1, 0, 2, 3]), [h, b * w * c])); // [oh, B·W·C]
    const t = tf.reshape(tf.transpose(tf.reshape(rows, [oh, b, w, c]), [2, 1, 0, 3]), [w, b * oh * c]);
    const cols = tf.matMul(pw, t); // [ow, B·oh·C]
    return tf.transpose(tf.reshape(cols, [ow, b, oh, c]), [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/**
 * [N, M] additive mask for fold regions: 0 where pixel n (row-major over H×W) and center m
 * (row-major over ch×cw) lie in the same region, −1e9 elsewhere; null for a single region.
 */
export function foldPenalty(h: number, w: number, ch: number, cw: number, folds: number): tf.Tensor2D | null {
  if (folds === 1) return null;
  const n = h * w;
  const m = ch * cw;
  const values = new Float32Array(n * m);
  for (let p = 0; p < n; p++) {
    const py = Math.floor(Math.floor(p / w) / (h / folds));
    const px = Math.floor((p % w) / (w / folds));
    for (let q = 0; q < m; q++) {
      const cy = Math.floor(Math.floor(q / cw) / (ch / folds));
      const cx = Math.floor((q % cw) / (cw / folds));
      if (cy !== py || cx !== px) values[p * m + q] = -1e9;
    }
  }
  return tf.tensor2d(values, [n, m]);
}
