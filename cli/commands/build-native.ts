import { Command } from "commander";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../lib/engine/native/addon.js";

/**
 * `cluelab build-native [--force]`: compiles the native CPU backend from the package's own
 * sources (what `npm install` does when the package's install script is allowed to run).
 */
export function buildNativeCommand(): Command {
  return new Command("build-native")
    .description("compile cluelab's native CPU backend (needs a C++ compiler and oneDNN: apt-get install build-essential libdnnl-dev)")
    .option("--force", "rebuild even when the binary matches the sources")
    .action((options: { force?: boolean }) => {
      const script = join(PACKAGE_ROOT, "scripts/build-native.sh");
      const result = spawnSync("bash", [script, ...(options.force ? [] : ["--if-stale"])], { stdio: "inherit" });
      if (result.error) throw new Error(`could not run ${script}: ${result.error.message} (is bash installed?)`);
      process.exitCode = result.status ?? 1;
    });
}
