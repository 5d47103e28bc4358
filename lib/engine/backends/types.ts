/** The backends cluelab knows, best first. */
export const BACKEND_NAMES = ["tensorflow", "webgpu", "native", "wasm", "cpu"] as const;

/** A backend name, as `CLUELAB_BACKEND` takes it. */
export type BackendName = (typeof BACKEND_NAMES)[number];

/** What loading one backend found. */
export interface BackendStatus {
  name: BackendName;
  /** The backend is registered with TensorFlow.js and initialises. */
  loaded: boolean;
  /** Why it did not load, or why it is not chosen automatically. */
  reason?: string;
  /** Device or adapter name. */
  device?: string;
  /** The adapter is a software rasteriser (llvmpipe, SwiftShader, lavapipe). */
  software?: boolean;
  /** Whether automatic selection may pick it (a software GPU adapter is never picked). */
  eligible: boolean;
  /** Details specific to the backend (SIMD, threads, package versions, driver). */
  details: Record<string, unknown>;
}

/** Loads one backend. `forced` is set when the user named it, which relaxes automatic-only rules. */
export interface BackendLoader {
  name: BackendName;
  load(options: { forced: boolean }): Promise<BackendStatus>;
}

export function isBackendName(value: string): value is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(value);
}
