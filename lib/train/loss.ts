/** Classification losses. */
import { tf } from "../engine/index.js";

/**
 * Mean cross-entropy of `logits` [B, K] against integer `labels` [B], with optional label
 * smoothing ε as PyTorch's `CrossEntropyLoss(label_smoothing=ε)`: the target is (1 − ε)·onehot + ε/K.
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, labelSmoothing = 0): tf.Scalar {
  if (!(labelSmoothing >= 0 && labelSmoothing < 1)) throw new RangeError(`labelSmoothing must be in [0, 1), got ${labelSmoothing}`);
  if (logits.rank !== 2 || labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new RangeError(`crossEntropy: logits must be [B, classes] and labels [B]; got [${logits.shape.join(", ")}] and [${labels.shape.join(", ")}]`);
  }
  return tf.tidy(() => {
    const k = logits.shape[1];
    const logProbs = tf.logSoftmax(logits);
    const target = tf.oneHot(tf.cast(labels, "int32"), k);
    // int32 one-hot then a cast (wasm's OneHot ignores a float dtype)
    let weights: tf.Tensor = tf.cast(target, "float32");
    if (labelSmoothing > 0) weights = tf.add(tf.mul(weights, 1 - labelSmoothing), labelSmoothing / k);
    return tf.neg(tf.mean(tf.sum(tf.mul(weights, logProbs), 1))) as tf.Scalar;
  });
}
