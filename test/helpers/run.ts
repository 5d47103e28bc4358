import { spawn } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (tests run from dist/test/…). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
/** The built CLI. */
export const CLI = resolve(ROOT, "dist/cli/main.js");

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, capturing its output. */
export function run(
  command: string,
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: options.timeoutMs ?? 120_000,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** Runs an ES module snippet with Node from `cwd` (default: the repository root). */
export function runModule(source: string, options: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  return run(process.execPath, ["--input-type=module", "-e", source], options);
}
