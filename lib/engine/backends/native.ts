import { totalmem } from "node:os";
import { loadAddon } from "../native/addon.js";
import { BACKEND_NAME, NATIVE_KERNEL_NAMES, registerNativeBackend } from "../native/register.js";
import { initialiseBackend } from "./activate.js";
import type { BackendLoader, BackendStatus } from "./types.js";

/**
 * cluelab's own CPU backend: native kernels (oneDNN GEMM and convolutions, multi-threaded
 * elementwise, reductions and fused ops) on the cpu backend's typed-array storage, built from
 * native/src when a compiler and oneDNN are present. Chosen over wasm when it loads.
 *
 * Environment: CLUELAB_NATIVE_THREADS (default: every core), CLUELAB_NATIVE_POOL_MB (recycled
 * buffer cap, default a quarter of RAM up to 4 GiB), CLUELAB_NATIVE_ADDON (a binary elsewhere).
 */
export const nativeLoader: BackendLoader = {
  name: "native",
  async load() {
    const found = loadAddon();
    if (!("addon" in found)) return failed(found.reason);
    const threads = process.env.CLUELAB_NATIVE_THREADS;
    if (threads !== undefined && threads !== "") {
      const n = Number(threads);
      if (!Number.isInteger(n) || n < 1) return failed(`CLUELAB_NATIVE_THREADS must be a whole number ≥ 1, got "${threads}"`);
      found.addon.setThreads(n);
    }
    const poolMb = process.env.CLUELAB_NATIVE_POOL_MB;
    let poolBytes = Math.min(totalmem() / 4, 4 * 1024 ** 3);
    if (poolMb !== undefined && poolMb !== "") {
      const mb = Number(poolMb);
      if (!Number.isFinite(mb) || mb < 0) return failed(`CLUELAB_NATIVE_POOL_MB must be a number of MiB ≥ 0, got "${poolMb}"`);
      poolBytes = mb * 1024 ** 2;
    }
    registerNativeBackend(found.addon, poolBytes);
    const error = await initialiseBackend(BACKEND_NAME);
    if (error) return failed(`the native backend did not initialise: ${error.message}`);
    const info = found.addon.info();
    return {
      name: "native",
      loaded: true,
      eligible: true,
      device: `CPU (oneDNN ${info.onednn}, ${info.isa}, ${info.threads} thread${info.threads === 1 ? "" : "s"})`,
      details: {
        addon: found.path,
        threads: info.threads,
        onednn: info.onednn,
        isa: info.isa,
        poolLimitMb: Math.round(poolBytes / 1024 ** 2),
        nativeKernels: NATIVE_KERNEL_NAMES.length,
        ...(found.build ? { builtAt: found.build.builtAt, compiler: found.build.compiler } : {}),
      },
    } satisfies BackendStatus;
  },
};

function failed(reason: string): BackendStatus {
  return { name: "native", loaded: false, eligible: false, reason, details: {} };
}
