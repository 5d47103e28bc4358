import { existsSync } from "node:fs";
import { quietCpuBanner } from "./backends/activate.js";
import { cpuLoader } from "./backends/cpu.js";
import { nativeLoader } from "./backends/native.js";
import { tensorflowLoader } from "./backends/tensorflow.js";
import { BACKEND_NAMES, isBackendName, type BackendLoader, type BackendName, type BackendStatus } from "./backends/types.js";
import { wasmLoader } from "./backends/wasm.js";
import { webgpuLoader } from "./backends/webgpu.js";
import { EngineError } from "./errors.js";
import { installLightTapeSaves } from "./tape-saves.js";
import { addonPath } from "./native/addon.js";
import { tf } from "./tf.js";

/** Loaders in order of preference. */
export const LOADERS: Record<BackendName, BackendLoader> = {
  tensorflow: tensorflowLoader,
  webgpu: webgpuLoader,
  native: nativeLoader,
  wasm: wasmLoader,
  cpu: cpuLoader,
};

/** The engine cluelab computes on. */
export interface EngineInfo {
  /** The active TensorFlow.js backend. */
  backend: BackendName;
  /** How it was chosen: named by the caller or `CLUELAB_BACKEND`, or picked automatically. */
  chosenBy: "option" | "CLUELAB_BACKEND" | "automatic";
  /** What loading the chosen backend found. */
  status: BackendStatus;
  /** Backends tried before it during automatic selection, with why they were passed over. */
  passedOver: BackendStatus[];
}

let current: Promise<EngineInfo> | undefined;
let currentRequest: string | undefined;

/**
 * Selects and initialises the compute backend, once; later calls return the same answer unless
 * they name another backend. `CLUELAB_BACKEND=tensorflow|webgpu|native|wasm|cpu` forces one; an unknown
 * name, or a named backend that cannot load, is an {@link EngineError} saying why (never a silent
 * fallback). Without it, the first that loads of tensorflow, webgpu (hardware adapter only),
 * native, wasm, cpu is chosen.
 */
export function ready(options: { backend?: BackendName } = {}): Promise<EngineInfo> {
  const request = options.backend ?? process.env.CLUELAB_BACKEND ?? "";
  if (!current || request !== currentRequest) {
    currentRequest = request;
    current = choose(options.backend).catch((error: unknown) => {
      current = undefined;
      throw error;
    });
  }
  return current;
}

/** The engine chosen so far, if {@link ready} has completed. */
export async function engineInfo(): Promise<EngineInfo | undefined> {
  return current?.catch(() => undefined);
}

/** Reads `CLUELAB_BACKEND`, validating it. */
export function requestedBackend(): BackendName | undefined {
  const raw = process.env.CLUELAB_BACKEND?.trim();
  if (!raw) return undefined;
  if (!isBackendName(raw)) {
    throw new EngineError(
      `CLUELAB_BACKEND="${raw}" is not a backend cluelab knows. Use one of ${BACKEND_NAMES.join(", ")}, ` +
        `or unset it to choose automatically (\`cluelab doctor\` lists what loads here).`,
    );
  }
  return raw;
}

async function choose(option: BackendName | undefined): Promise<EngineInfo> {
  if (option !== undefined && !isBackendName(option)) {
    throw new EngineError(`"${String(option)}" is not a backend cluelab knows. Use one of ${BACKEND_NAMES.join(", ")}.`);
  }
  const named = option ?? requestedBackend();
  if (named) {
    const status = await LOADERS[named].load({ forced: true });
    if (!status.loaded) {
      const how = option ? `backend "${named}" was requested` : `CLUELAB_BACKEND=${named}`;
      throw new EngineError(`${how} but it cannot load: ${status.reason}. Run \`cluelab doctor\` to see what loads here.`);
    }
    await activate(named);
    return { backend: named, chosenBy: option ? "option" : "CLUELAB_BACKEND", status, passedOver: [] };
  }
  const passedOver: BackendStatus[] = [];
  for (const name of BACKEND_NAMES) {
    const status = await LOADERS[name].load({ forced: false });
    if (status.loaded && status.eligible) {
      await activate(name);
      warnIfNativeSkipped(passedOver, name);
      return { backend: name, chosenBy: "automatic", status, passedOver };
    }
    passedOver.push(status);
  }
  throw new EngineError(
    `no compute backend could load: ${passedOver.map((s) => `${s.name}: ${s.reason}`).join("; ")}`,
  );
}

/**
 * A native addon that is there but was passed over (built from older sources, or failing to
 * load) leaves the user on a backend several times slower without asking: say so once, with the
 * reason and the fix. An addon never built is the documented fallback and `cluelab doctor`'s job.
 */
function warnIfNativeSkipped(passedOver: BackendStatus[], chosen: BackendName): void {
  const native = passedOver.find((s) => s.name === "native");
  if (!native || !existsSync(addonPath())) return;
  process.emitWarning(`the native backend was passed over: ${native.reason}. Computing on ${chosen} instead, which is slower.`, {
    code: "CLUELAB_NATIVE_SKIPPED",
  });
}

async function activate(name: BackendName): Promise<void> {
  if (!(await tf.setBackend(name))) {
    throw new EngineError(`TensorFlow.js could not switch to the "${name}" backend`);
  }
  await tf.ready();
  quietCpuBanner();
  installLightTapeSaves();
}
