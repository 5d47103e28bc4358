/**
 * UnsortedSegmentSum (the gradient of gather) as one-hot × data: a single matMul on the backend.
 * Negative ids contribute nothing, as in TensorFlow. Memory is ids × numSegments, which suits the
 * gathers models here make (small tables); huge embedding tables want a sparse kernel.
 */
import { tf } from "../tf.js";
import { composedKernel } from "../compose.js";

export function unsortedSegmentSum(backendName: string): tf.KernelConfig {
  return composedKernel("UnsortedSegmentSum", backendName, ({ x, segmentIds }, attrs) => {
    const numSegments = attrs.numSegments as number;
    const k = segmentIds.size;
    const rest = x.shape.slice(segmentIds.rank);
    const d = rest.reduce((p, q) => p * q, 1);
    const onehot = tf.oneHot(tf.reshape(segmentIds, [k]).cast("int32"), numSegments); // [K,S]
    const summed = tf.matMul(onehot.cast("float32"), tf.reshape(x, [k, d]).cast("float32"), true, false);
    return tf.reshape(summed, [numSegments, ...rest]).cast(x.dtype);
  });
}
