/** Where the kernel's own files are, wherever it is installed. */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root (this file runs from `dist/kernel/`). */
export const PACKAGE_ROOT = fileURLToPath(new URL("../..", import.meta.url));

const LIB = join(PACKAGE_ROOT, "dist", "lib");

/** Modules cells always load from the kernel itself, wherever the notebook lives. */
export const OWN_MODULES: Record<string, string> = {
  cluelab: join(LIB, "index.js"),
  "cluelab/display": join(LIB, "display", "index.js"),
  tslab: join(LIB, "display", "tslab.js"),
};

/** Their declaration files, for the type checker. */
export const OWN_DECLARATIONS: Record<string, string> = Object.fromEntries(
  Object.entries(OWN_MODULES).map(([name, file]) => [name, file.replace(/\.js$/, ".d.ts")]),
);

/** The folder holding the kernel's `@types/node`. */
export function typeRoots(): string[] {
  const nodeTypes = createRequire(import.meta.url).resolve("@types/node/package.json");
  return [dirname(dirname(nodeTypes))];
}

/** The kernel's version (package.json). */
export function kernelVersion(): string {
  return (createRequire(import.meta.url)(join(PACKAGE_ROOT, "package.json")) as { version: string }).version;
}

/** The TypeScript compiler's version, without loading the compiler. */
export function typescriptVersion(): string {
  return (createRequire(import.meta.url)("typescript/package.json") as { version: string }).version;
}
