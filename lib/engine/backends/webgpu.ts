import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { tf } from "../tf.js";
import { patchWebgpuIntTranspose } from "../webgpu/int-transpose.js";
import { initialiseBackend } from "./activate.js";
import type { BackendLoader, BackendStatus } from "./types.js";

/**
 * WebGPU through Dawn for Node (the `webgpu` package, a prebuilt dawn.node): GPU training with no
 * CUDA install, on Vulkan (Linux), Metal (macOS) or D3D12 (Windows). A hardware adapter is picked
 * automatically; the software one (llvmpipe through OpenGL ES on a surfaceless EGL display) only
 * when the user names this backend or sets CLUELAB_WEBGPU_ADAPTER=software, since it is slower
 * than wasm. Tests use it to prove the code path on machines without a GPU.
 */
export const webgpuLoader: BackendLoader = {
  name: "webgpu",
  load: ({ forced }) => loadWebgpu(forced),
};

// Probes are memoized: each costs a Dawn instance and may print driver warnings, and an adapter
// must be registered with TensorFlow.js once.
let dawnModule: Promise<typeof import("webgpu")> | undefined;
let hardwareProbe: Promise<{ found?: Found; reason: string }> | undefined;
let softwareProbe: Promise<Found | undefined> | undefined;
const statusOf = new Map<Found, Promise<BackendStatus>>();

async function loadWebgpu(forced: boolean): Promise<BackendStatus> {
  const preference = process.env.CLUELAB_WEBGPU_ADAPTER ?? "auto";
  if (!["auto", "hardware", "software"].includes(preference)) {
    return failed(`CLUELAB_WEBGPU_ADAPTER must be auto, hardware or software, got "${preference}"`);
  }
  let dawn: typeof import("webgpu");
  try {
    dawn = await (dawnModule ??= import("webgpu"));
  } catch (error) {
    return failed(`the webgpu package (Dawn for Node) could not be loaded: ${(error as Error).message}`);
  }
  let reason = "hardware adapters not probed (CLUELAB_WEBGPU_ADAPTER=software)";
  if (preference !== "software") {
    const hardware = await (hardwareProbe ??= probeHardware(dawn));
    if (hardware.found) return registerOnce(hardware.found, "");
    reason = hardware.reason;
  }
  if (preference === "hardware" || (preference === "auto" && !forced)) return failed(reason);
  const software = await (softwareProbe ??= probeSoftware(dawn));
  if (!software) return failed(`${reason}; no software adapter either (install Mesa's EGL and GLES drivers)`);
  return registerOnce(software, reason);
}

async function probeHardware(dawn: typeof import("webgpu")): Promise<{ found?: Found; reason: string }> {
  const skip = hardwareProbeSkipReason();
  if (skip) return { reason: skip };
  const found = await requestAdapter(dawn, [], {});
  if (!found) return { reason: "Dawn found no hardware GPU adapter" };
  if (found.software) return { reason: `the only adapter is a software one (${found.name})` };
  return { found, reason: "" };
}

function probeSoftware(dawn: typeof import("webgpu")): Promise<Found | undefined> {
  // Mesa's EGL needs a platform without a display server; set before Dawn opens EGL.
  process.env.EGL_PLATFORM ??= "surfaceless";
  return requestAdapter(dawn, ["backend=opengles"], { featureLevel: "compatibility" });
}

function registerOnce(found: Found, note: string): Promise<BackendStatus> {
  let status = statusOf.get(found);
  if (!status) statusOf.set(found, (status = register(found, note)));
  return status;
}

interface Found {
  adapter: GPUAdapter;
  gpu: GPU;
  globals: object;
  name: string;
  software: boolean;
  backend: string;
}

// Dawn objects must stay reachable for as long as the backend lives.
const keepAlive: Found[] = [];

async function requestAdapter(
  dawn: typeof import("webgpu"),
  flags: string[],
  options: Record<string, unknown>,
): Promise<Found | undefined> {
  try {
    const gpu = dawn.create(flags);
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance", ...options } as GPURequestAdapterOptions);
    if (!adapter) return undefined;
    const info = adapter.info;
    const name = [info.vendor, info.device, info.description].filter(Boolean).join(" ").trim() || "unnamed adapter";
    const software =
      Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter) ||
      /llvmpipe|lavapipe|swiftshader|softpipe|software rasterizer/i.test(name);
    const backend = flags.includes("backend=opengles") ? "OpenGL ES" : defaultBackendName();
    return { adapter, gpu, globals: dawn.globals, name, software, backend };
  } catch {
    return undefined;
  }
}

async function register(found: Found, note: string): Promise<BackendStatus> {
  const { adapter, gpu, globals } = found;
  // The WebGPU constants tfjs-backend-webgpu uses (GPUBufferUsage, GPUMapMode, …) are browser
  // globals; Dawn exports them. Existing globals are left alone.
  for (const [key, value] of Object.entries(globals)) {
    if (!(key in globalThis)) Object.defineProperty(globalThis, key, { value, configurable: true, writable: true });
  }
  // tfjs-backend-webgpu checks navigator.gpu, which Node does not have.
  const nav = ((globalThis as { navigator?: Record<string, unknown> }).navigator ??= {});
  if (!nav.gpu) Object.defineProperty(nav, "gpu", { value: gpu, configurable: true });
  let backendModule: typeof import("@tensorflow/tfjs-backend-webgpu");
  try {
    backendModule = await import("@tensorflow/tfjs-backend-webgpu");
  } catch (error) {
    return failed(`@tensorflow/tfjs-backend-webgpu could not be imported: ${(error as Error).message}`);
  }
  const limits = adapter.limits;
  const wanted = [
    "maxComputeWorkgroupStorageSize",
    "maxComputeWorkgroupsPerDimension",
    "maxStorageBufferBindingSize",
    "maxBufferSize",
    "maxComputeWorkgroupSizeX",
    "maxComputeInvocationsPerWorkgroup",
  ] as const;
  const requiredLimits = Object.fromEntries(wanted.map((key) => [key, limits[key]]));
  const requiredFeatures = (["timestamp-query"] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  } catch (error) {
    return failed(`the adapter ${found.name} refused a device: ${(error as Error).message}`);
  }
  // The package registers its own factory when navigator.gpu exists at import time; that one asks
  // for the default adapter, which is not the one chosen here.
  if (tf.findBackendFactory("webgpu")) tf.removeBackend("webgpu");
  tf.registerBackend("webgpu", () => new backendModule.WebGPUBackend(device, adapter.info as never), 3);
  patchWebgpuIntTranspose();
  const error = await initialiseBackend("webgpu");
  if (error) return failed(`the TensorFlow.js WebGPU backend did not start on ${found.name}: ${error.message}`);
  keepAlive.push(found);
  return {
    name: "webgpu",
    loaded: true,
    eligible: !found.software,
    software: found.software,
    device: `${found.name} (${found.backend})`,
    reason: found.software ? `software adapter, not chosen automatically${note ? ` (${note})` : ""}` : undefined,
    details: { backend: found.backend, maxBufferSize: limits.maxBufferSize },
  };
}

function failed(reason: string): BackendStatus {
  return { name: "webgpu", loaded: false, eligible: false, reason, details: {} };
}

function defaultBackendName(): string {
  return process.platform === "darwin" ? "Metal" : process.platform === "win32" ? "D3D12" : "Vulkan";
}

/**
 * On Linux, Dawn's Vulkan probe prints driver noise and costs time when no GPU driver exists; a
 * look at the Vulkan driver manifests answers first. Only lavapipe (rejected by Dawn) counts as none.
 */
function hardwareProbeSkipReason(): string | undefined {
  if (process.platform !== "linux") return undefined;
  if (process.env.VK_DRIVER_FILES || process.env.VK_ICD_FILENAMES) return undefined;
  // Mesa installs manifests for hardware drivers whether or not such hardware exists: a GPU also
  // needs a device node.
  const renderNodes = existsSync("/dev/dri") ? readdirSync("/dev/dri").filter((f) => f.startsWith("renderD")) : [];
  const nvidia = existsSync("/dev/nvidiactl");
  if (renderNodes.length === 0 && !nvidia) return "no GPU device here (no /dev/dri/renderD* or /dev/nvidiactl)";
  const dirs = [
    ...(process.env.XDG_DATA_DIRS ?? "/usr/local/share:/usr/share").split(":").map((d) => join(d, "vulkan/icd.d")),
    "/etc/vulkan/icd.d",
  ];
  const manifests = dirs.filter((d) => existsSync(d)).flatMap((d) => readdirSync(d).filter((f) => f.endsWith(".json")));
  const hardware = manifests.filter((f) => !/lvp|lavapipe|swiftshader/i.test(f));
  if (hardware.length > 0) return undefined;
  return manifests.length === 0
    ? "no Vulkan driver is installed (install your GPU's Vulkan driver, e.g. the NVIDIA driver or mesa-vulkan-drivers)"
    : `only software Vulkan drivers are installed (${manifests.join(", ")})`;
}
