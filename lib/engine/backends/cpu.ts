import { tf } from "../tf.js";
import { initialiseBackend, quietCpuBanner } from "./activate.js";
import type { BackendLoader } from "./types.js";

/** Pure JavaScript: always there, slow. The last resort. */
export const cpuLoader: BackendLoader = {
  name: "cpu",
  async load() {
    const error = await initialiseBackend("cpu");
    quietCpuBanner();
    return {
      name: "cpu",
      loaded: !error,
      eligible: !error,
      reason: error?.message,
      device: "JavaScript (single thread)",
      details: { version: tf.version_core },
    };
  },
};
