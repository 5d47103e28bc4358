/**
 * Registers the `native` backend with TensorFlow.js: every cpu kernel under the new name (they
 * work on the same storage), then the native kernels over them.
 */
import { tf } from "../tf.js";
import type { NativeAddon } from "./addon.js";
import { NativeBackend } from "./backend.js";
import { attentionKernels } from "./kernels/attention.js";
import { BACKEND_NAME } from "./kernels/common.js";
import { centerKernels } from "./kernels/centers.js";
import { poolTeeKernels } from "./kernels/avgpool.js";
import { assignKernels } from "./kernels/assign.js";
import { convKernels } from "./kernels/conv.js";
import { elementwiseKernels } from "./kernels/elementwise.js";
import { fusedKernels } from "./kernels/fused.js";
import { layoutKernels } from "./kernels/layout.js";
import { linearKernels } from "./kernels/linear.js";
import { batchMatMul, fusedMatMul } from "./kernels/matmul.js";
import { optimKernels } from "./kernels/optim.js";
import { reduceKernels } from "./kernels/reduce.js";

export { BACKEND_NAME };

const NATIVE_KERNELS = (): tf.KernelConfig[] => [batchMatMul, fusedMatMul, ...convKernels, ...elementwiseKernels, ...reduceKernels, ...layoutKernels, ...fusedKernels,
  ...attentionKernels, ...assignKernels, ...linearKernels, ...optimKernels, ...centerKernels,
  ...poolTeeKernels];

let registered = false;

/** Names of the kernels that run natively (the rest are the cpu backend's JavaScript). */
export let NATIVE_KERNEL_NAMES: readonly string[] = [];

/** Registers the backend and its kernels once; `poolLimitBytes` caps the recycled-buffer pool. */
export function registerNativeBackend(addon: NativeAddon, poolLimitBytes: number): void {
  if (registered) return;
  registered = true;
  for (const config of tf.getKernelsForBackend("cpu")) {
    tf.registerKernel({ ...config, backendName: BACKEND_NAME });
  }
  const natives = NATIVE_KERNELS();
  for (const config of natives) {
    if (tf.getKernel(config.kernelName, BACKEND_NAME)) tf.unregisterKernel(config.kernelName, BACKEND_NAME);
    tf.registerKernel(config);
  }
  NATIVE_KERNEL_NAMES = natives.map((k) => k.kernelName);
  tf.registerBackend(BACKEND_NAME, () => new NativeBackend(addon, poolLimitBytes), 1);
}
