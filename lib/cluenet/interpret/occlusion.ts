/**
 * Which clusters the decision rests on, by occlusion, as the official code ranks them
 * (`compute_cluster_importance.py`): for each cluster mask,
 *   drop = p(true) − p(true | the cluster's pixels replaced by the image's mean colour),
 *   keep = p(true | only the cluster kept sharp, everything else Gaussian-blurred),
 *   score = α·drop + (1 − α)·keep  (α = 0.5),
 * all probabilities from the softmax of the model's logits, clusters sorted by score.
 */
import { tf } from "../../engine/index.js";
import type { ClusterMask } from "./masks.js";

/** Options of {@link rankClusters}. */
export interface OcclusionOptions {
  /** Weight of the drop score (default 0.5, the official α). */
  alpha?: number;
  /** σ of the blur for `keep` (default: the official σ 5 at 224 px, scaled to the image, at least 1.5). */
  blurSigma?: number;
  /** Odd kernel size of the blur (default: the official 11 at 224 px; else 2·⌈2σ⌉ + 1). */
  blurKernel?: number;
  /** Occluded images per forward pass (default 32). */
  batchSize?: number;
}

/** A cluster's mask with its occlusion scores. */
export interface ClusterImportance extends ClusterMask {
  drop: number;
  keep: number;
  score: number;
}

/** What {@link rankClusters} returns. */
export interface OcclusionRanking {
  /** p(true) on the untouched image. */
  probability: number;
  /** Clusters, most important first. */
  ranking: ClusterImportance[];
}

/** Anything that maps an image batch to logits in inference mode (a cluenet model). */
export interface Classifier {
  predict(x: tf.Tensor4D): tf.Tensor2D;
}

/**
 * Ranks `clusters` (masks of one map of `image`, from {@link masks}) by occlusion for class
 * `label`. `image` is what the model takes: `[H, W, C]` or `[1, H, W, C]`, normalised as in training.
 */
export async function rankClusters(
  model: Classifier,
  image: tf.Tensor3D | tf.Tensor4D,
  label: number,
  clusters: readonly ClusterMask[],
  options: OcclusionOptions = {},
): Promise<OcclusionRanking> {
  const x = image.rank === 3 ? (image.expandDims(0) as tf.Tensor4D) : (image as tf.Tensor4D);
  try {
    const [one, h, w] = x.shape;
    if (one !== 1) throw new RangeError(`rankClusters ranks one image at a time; got a batch of ${one}`);
    for (const m of clusters) {
      if (m.mask.length !== h * w) throw new RangeError(`cluster ${m.cluster}'s mask has ${m.mask.length} pixels, the image ${h}×${w}`);
    }
    const alpha = options.alpha ?? 0.5;
    if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`alpha must be in [0, 1], got ${alpha}`);
    const size = Math.min(h, w);
    const sigma = options.blurSigma ?? (size >= 224 ? 5 : Math.max(1.5, (5 * size) / 224));
    const kernel = options.blurKernel ?? (size >= 224 && options.blurSigma === undefined ? 11 : 2 * Math.ceil(2 * sigma) + 1);
    if (!(kernel % 2 === 1 && kernel > 0) || !(sigma > 0)) throw new RangeError(`the blur needs an odd positive kernel and σ > 0, got ${kernel} and ${sigma}`);
    const batchSize = options.batchSize ?? 32;

    const probabilityOf = async (batch: tf.Tensor4D): Promise<Float32Array> => {
      const p = tf.tidy(() => tf.slice(tf.softmax(model.predict(batch)), [0, label], [-1, 1]));
      const v = (await p.data()) as Float32Array;
      p.dispose();
      return v;
    };
    const full = (await probabilityOf(x))[0]!;
    const [mean, blurred] = tf.tidy(() => [tf.mean(x, [1, 2], true), gaussianBlur(x, kernel, sigma)]);
    const drops: number[] = [];
    const keeps: number[] = [];
    try {
      for (let start = 0; start < clusters.length; start += batchSize) {
        const chunk = clusters.slice(start, start + batchSize);
        const maskData = new Float32Array(chunk.length * h * w);
        chunk.forEach((m, i) => maskData.set(m.mask, i * h * w));
        const masksT = tf.tensor4d(maskData, [chunk.length, h, w, 1]);
        const dropped = tf.tidy(() => tf.add(tf.mul(x, tf.sub(1, masksT)), tf.mul(mean!, masksT)) as tf.Tensor4D);
        const kept = tf.tidy(() => tf.add(tf.mul(x, masksT), tf.mul(blurred!, tf.sub(1, masksT))) as tf.Tensor4D);
        masksT.dispose();
        try {
          const [pd, pk] = [await probabilityOf(dropped), await probabilityOf(kept)];
          for (let i = 0; i < chunk.length; i++) {
            drops.push(full - pd[i]!);
            keeps.push(pk[i]!);
          }
        } finally {
          tf.dispose([dropped, kept]);
        }
      }
    } finally {
      tf.dispose([mean!, blurred!]);
    }
    const ranking = clusters
      .map((m, i): ClusterImportance => ({ ...m, drop: drops[i]!, keep: keeps[i]!, score: alpha * drops[i]! + (1 - alpha) * keeps[i]! }))
      .sort((a, b) => b.score - a.score || a.cluster - b.cluster);
    return { probability: full, ranking };
  } finally {
    if (x !== image) x.dispose();
  }
}

/**
 * torchvision's `gaussian_blur` on NHWC: a separable Gaussian of `kernel` taps and σ `sigma`,
 * with reflect padding.
 */
export function gaussianBlur(x: tf.Tensor4D, kernel: number, sigma: number): tf.Tensor4D {
  return tf.tidy(() => {
    const half = (kernel - 1) / 2;
    const taps = Array.from({ length: kernel }, (_, i) => Math.exp(-0.5 * ((i - half) / sigma) ** 2));
    const total = taps.reduce((a, b) => a + b, 0);
    const k1 = taps.map((t) => t / total);
    const c = x.shape[3];
    const rows = tf.tile(tf.tensor4d(k1, [kernel, 1, 1, 1]), [1, 1, c, 1]) as tf.Tensor4D;
    const cols = tf.tile(tf.tensor4d(k1, [1, kernel, 1, 1]), [1, 1, c, 1]) as tf.Tensor4D;
    const [h, w] = [x.shape[1], x.shape[2]];
    if (half > h - 1 || half > w - 1) throw new RangeError(`a ${kernel}-tap blur needs images of at least ${half + 1}×${half + 1} pixels (reflect padding), got ${h}×${w}`);
    const padded = tf.mirrorPad(x, [[0, 0], [half, half], [half, half], [0, 0]], "reflect");
    return tf.depthwiseConv2d(tf.depthwiseConv2d(padded, rows, 1, "valid"), cols, 1, "valid") as tf.Tensor4D;
  });
}
