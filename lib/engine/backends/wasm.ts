import { tf } from "../tf.js";
import { registerWasmGapKernels, WASM_GAP_KERNEL_NAMES } from "../wasm/register.js";
import { initialiseBackend } from "./activate.js";
import type { BackendLoader } from "./types.js";

/**
 * The embedded default: XNNPACK compiled to WebAssembly with SIMD, shipped inside the npm
 * package. Threads stay off in Node (the package's worker blob URLs do not load there).
 */
export const wasmLoader: BackendLoader = {
  name: "wasm",
  async load() {
    try {
      await import("@tensorflow/tfjs-backend-wasm");
    } catch (error) {
      return failed(`@tensorflow/tfjs-backend-wasm could not be imported: ${(error as Error).message}`);
    }
    registerWasmGapKernels();
    const error = await initialiseBackend("wasm");
    if (error) return failed(`the WebAssembly module did not initialise: ${error.message}`);
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
    return {
      name: "wasm",
      loaded: true,
      eligible: true,
      device: `WebAssembly (XNNPACK, ${simd ? "SIMD" : "no SIMD"}, ${threads ? "threads" : "1 thread"})`,
      details: { simd, threads: threads ? "multi" : 1, gapKernels: WASM_GAP_KERNEL_NAMES },
    };
  },
};

function failed(reason: string) {
  return { name: "wasm" as const, loaded: false, eligible: false, reason, details: {} };
}
