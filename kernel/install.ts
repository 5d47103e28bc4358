/**
 * The kernelspec: written and removed without Python, where Jupyter's own tools put it.
 * `--prefix DIR` → `DIR/share/jupyter/kernels/<name>/`; `--user` (the default) → the user's
 * Jupyter data folder (`JUPYTER_DATA_DIR`, else the platform's) `/kernels/<name>/`.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jupyterDataDir } from "./protocol/history.js";
import { PACKAGE_ROOT } from "./paths.js";

export const DEFAULT_NAME = "cluelab";
export const DEFAULT_DISPLAY_NAME = "TypeScript (cluelab)";

/** The `cluelab` command the kernelspec runs (`cluelab kernel --connection-file FILE`). */
export const CLI_SCRIPT = join(PACKAGE_ROOT, "dist", "cli", "main.js");
const ASSETS = join(PACKAGE_ROOT, "kernel", "assets");
const LOGOS = ["logo-32x32.png", "logo-64x64.png", "logo-svg.svg"];

export interface SpecLocation {
  /** Install under `DIR/share/jupyter/kernels/`. */
  prefix?: string;
  /** Install into the user's Jupyter data folder (the default when no prefix is given). */
  user?: boolean;
  name?: string;
  env?: NodeJS.ProcessEnv;
}

export interface InstallOptions extends SpecLocation {
  displayName?: string;
}

export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: "message" | "signal";
  metadata: Record<string, unknown>;
}

/** Kernel names Jupyter accepts. */
export function checkName(name: string): string {
  if (!/^[a-z0-9._-]+$/i.test(name)) {
    throw new Error(`invalid kernel name "${name}": use letters, digits, ".", "_" and "-" only`);
  }
  return name.toLowerCase();
}

/** The folder of the kernelspec for these options. */
export function specDirectory(options: SpecLocation): string {
  if (options.prefix !== undefined && options.user) throw new Error("choose either --user or --prefix, not both");
  const name = checkName(options.name ?? DEFAULT_NAME);
  const kernels = options.prefix !== undefined ? join(options.prefix, "share", "jupyter", "kernels") : join(jupyterDataDir(options.env), "kernels");
  return join(kernels, name);
}

export function kernelSpec(displayName = DEFAULT_DISPLAY_NAME): KernelSpec {
  return {
    argv: [process.execPath, CLI_SCRIPT, "kernel", "--connection-file", "{connection_file}"],
    display_name: displayName,
    language: "typescript",
    interrupt_mode: "message",
    metadata: { debugger: false },
  };
}

/** Writes (or overwrites) the kernelspec; returns its folder. */
export function install(options: InstallOptions = {}): { directory: string; spec: KernelSpec } {
  const directory = specDirectory(options);
  const spec = kernelSpec(options.displayName);
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, "kernel.json"), JSON.stringify(spec, null, 2) + "\n");
  for (const logo of LOGOS) copyFileSync(join(ASSETS, logo), join(directory, logo));
  return { directory, spec };
}

/** Removes the kernelspec; says where it looked when there is none. */
export function uninstall(options: SpecLocation = {}): string {
  const directory = specDirectory(options);
  if (!existsSync(join(directory, "kernel.json"))) throw new Error(`no kernelspec at ${directory}`);
  rmSync(directory, { recursive: true, force: true });
  return directory;
}
