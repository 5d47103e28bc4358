/**
 * Fills the wasm backend's gaps so it can train conv nets: kernels it lacks, a MaxPoolGrad that
 * replaces its wrong one, and a Conv2DBackpropInput that replaces its slow one. Safe to call more than once.
 */
import { tf } from "../tf.js";
import { conv2dBackpropFilter, conv2dBackpropInput, depthwiseConv2dBackpropFilter, depthwiseConv2dBackpropInput } from "./conv-grads.js";
import { maxPoolGrad } from "./pool-grads.js";
import { unsortedSegmentSum } from "./segment-sum.js";

const BACKEND = "wasm";

/** Kernels cluelab provides for wasm, and whether they replace one wasm ships. */
const GAP_KERNELS: Array<{ make: (backend: string) => tf.KernelConfig; replaces: boolean }> = [
  { make: conv2dBackpropFilter, replaces: false },
  { make: depthwiseConv2dBackpropInput, replaces: false },
  { make: depthwiseConv2dBackpropFilter, replaces: false },
  { make: unsortedSegmentSum, replaces: false },
  { make: maxPoolGrad, replaces: true }, // wasm's own is wrong on all-negative windows
  { make: conv2dBackpropInput, replaces: true }, // wasm's own is 5–10× slower than the forward pass
];

const registered = new Set<string>();

/** Names of the kernels cluelab registers on the wasm backend. */
export const WASM_GAP_KERNEL_NAMES: readonly string[] = GAP_KERNELS.map(({ make }) => make(BACKEND).kernelName);

export function registerWasmGapKernels(): void {
  for (const { make, replaces } of GAP_KERNELS) {
    const config = make(BACKEND);
    if (registered.has(config.kernelName)) continue;
    const existing = tf.getKernel(config.kernelName, BACKEND);
    if (existing && !replaces) {
      // A newer wasm backend ships this kernel: keep the native one.
      registered.add(config.kernelName);
      continue;
    }
    if (existing) tf.unregisterKernel(config.kernelName, BACKEND);
    tf.registerKernel(config);
    registered.add(config.kernelName);
  }
}
