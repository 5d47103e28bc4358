import { createRequire } from "node:module";
import { cpus } from "node:os";
import type { BackendStatus } from "./backends/types.js";
import { BACKEND_NAMES } from "./backends/types.js";
import { EngineError } from "./errors.js";
import { LOADERS, ready } from "./select.js";
import { tf } from "./tf.js";

/** Everything `cluelab doctor` reports. */
export interface DoctorReport {
  /** The backend cluelab would compute on here, or null when none can be selected. */
  selected: string | null;
  /** Why nothing could be selected (a bad CLUELAB_BACKEND, say). */
  selectionError?: string;
  /** CLUELAB_BACKEND as set, if set. */
  requested?: string;
  backends: BackendStatus[];
  machine: { platform: string; arch: string; cpu: string; cores: number };
  versions: Record<string, string>;
}

/**
 * Loads every backend (the software WebGPU adapter included) and reports what loads, why the
 * others do not, and which one cluelab selects.
 */
export async function doctor(): Promise<DoctorReport> {
  const backends: BackendStatus[] = [];
  for (const name of BACKEND_NAMES) backends.push(await LOADERS[name].load({ forced: true }));
  let selected: string | null = null;
  let selectionError: string | undefined;
  try {
    selected = (await ready()).backend;
  } catch (error) {
    if (!(error instanceof EngineError)) throw error;
    selectionError = error.message;
  }
  const cpuList = cpus();
  return {
    selected,
    selectionError,
    requested: process.env.CLUELAB_BACKEND || undefined,
    backends,
    machine: { platform: process.platform, arch: process.arch, cpu: cpuList[0]?.model ?? "unknown", cores: cpuList.length },
    versions: versions(),
  };
}

function versions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const out: Record<string, string> = { node: process.versions.node, "tfjs-core": tf.version_core };
  for (const pkg of ["cluelab", "@tensorflow/tfjs-backend-wasm", "@tensorflow/tfjs-backend-webgpu", "webgpu"]) {
    try {
      out[pkg] = (require(`${pkg}/package.json`) as { version: string }).version;
    } catch {
      out[pkg] = "not found";
    }
  }
  return out;
}
