import { tf } from "../tf.js";
import { initialiseBackend } from "./activate.js";
import type { BackendLoader, BackendStatus } from "./types.js";

/** libtensorflow through the official native bindings, CUDA first, when the user installed them. */
const PACKAGES = [
  { pkg: "@tensorflow/tfjs-node-gpu", device: "libtensorflow 2.9.1 (CUDA 11.2, cuDNN 8.1)" },
  { pkg: "@tensorflow/tfjs-node", device: "libtensorflow 2.9.1 (CPU)" },
];

export const tensorflowLoader: BackendLoader = {
  name: "tensorflow",
  async load() {
    const reasons: string[] = [];
    for (const { pkg, device } of PACKAGES) {
      try {
        // A variable specifier: these packages are optional and usually absent.
        const specifier: string = pkg;
        await import(specifier);
      } catch (error) {
        const code = (error as { code?: string }).code;
        reasons.push(
          code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND"
            ? `${pkg} is not installed`
            : `${pkg} failed to load: ${firstLine((error as Error).message)}`,
        );
        continue;
      }
      const error = await initialiseBackend("tensorflow");
      if (error) {
        reasons.push(`${pkg} loaded but its backend did not initialise: ${firstLine(error.message)}`);
        continue;
      }
      return { name: "tensorflow", loaded: true, eligible: true, device, details: { package: pkg } } satisfies BackendStatus;
    }
    return {
      name: "tensorflow",
      loaded: false,
      eligible: false,
      reason: `${reasons.join("; ")} (optional: \`npm install @tensorflow/tfjs-node@${tf.version_core}\`, or -gpu on a CUDA machine; both download libtensorflow when installed)`,
      details: {},
    };
  },
};

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}
