/** How a fused op decides between its kernel and its reference composition. */
import { tf } from "../tf.js";

const registered = new Set<string>();

/**
 * Whether the active backend has `kernelName`; on the first yes, the kernel's gradient (when it
 * has one) is registered, so fused ops register nothing until a backend provides them.
 */
export function useKernel(kernelName: string, gradient?: () => tf.GradConfig): boolean {
  if (!tf.getKernel(kernelName, tf.getBackend())) return false;
  if (gradient && !registered.has(kernelName)) {
    registered.add(kernelName);
    if (!tf.getGradient(kernelName)) tf.registerGradient(gradient());
  }
  return true;
}

/** Runs a kernel returning several tensors. */
export function runKernels(kernelName: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor[] {
  return tf.engine().runKernel(kernelName, inputs, attrs) as tf.Tensor[];
}
