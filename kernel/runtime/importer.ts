/**
 * Module loading for cells: `import` statements in cells become calls to the function built
 * here. `cluelab`, `cluelab/display` and `tslab` always load the kernel's own copies; everything
 * else resolves from the notebook's folder and its `node_modules` with Node's ES module
 * algorithm (ESM-only packages, CommonJS packages, `exports` conditions), then loads natively.
 */
import { builtinModules } from "node:module";
import { isAbsolute, join } from "node:path";
import { pathToFileURL } from "node:url";
import { resolve as resolveModule } from "import-meta-resolve";

export type Importer = (specifier: unknown, options?: { with?: Record<string, string> }) => Promise<unknown>;

export interface ImporterOptions {
  /** The notebook's folder (the kernel's working directory). */
  directory: string;
  /** Specifier → absolute file of the kernel's own modules. */
  builtins: Record<string, string>;
}

/** Resolves `specifier` as a module imported by a file in the notebook's folder; returns a URL. */
export function resolveFromNotebook(specifier: string, options: ImporterOptions): string {
  const own = options.builtins[specifier];
  if (own) return pathToFileURL(own).href;
  if (specifier.startsWith("node:") || builtinModules.includes(specifier)) return specifier;
  if (isAbsolute(specifier)) return pathToFileURL(specifier).href;
  const parent = pathToFileURL(join(options.directory, "__cluelab_cell.mjs")).href;
  try {
    return resolveModule(specifier, parent);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" && !specifier.startsWith(".")) {
      throw new Error(`cannot find package "${specifier}" from the notebook's folder ${options.directory}: install it there (npm install ${packageName(specifier)})`, { cause: error });
    }
    throw error;
  }
}

export function createImporter(options: ImporterOptions): Importer {
  return (specifier, importOptions) => {
    if (typeof specifier !== "string") return Promise.reject(new TypeError(`import() needs a module name, got ${typeof specifier}`));
    let url: string;
    try {
      url = resolveFromNotebook(specifier, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return importOptions?.with ? import(url, importOptions as ImportCallOptions) : import(url);
  };
}

function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}
