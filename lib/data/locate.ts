/**
 * Where datasets are looked for when no `root` is given, in this order:
 * 1. `$CLUELAB_DATA/<name>` (and `$CLUELAB_DATA` itself),
 * 2. known system locations (Debian's `dataset-fashion-mnist` installs `/usr/share/datasets/fashion-mnist`),
 * 3. the user cache, `$XDG_CACHE_HOME/cluelab/<name>` (default `~/.cache/cluelab/<name>`), where
 *    `cluelab data download` puts them when `$CLUELAB_DATA` is unset.
 *
 * @packageDocumentation
 */
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { DataError } from "./errors.js";

/** The user cache folder for datasets: `$XDG_CACHE_HOME/cluelab` or `~/.cache/cluelab`. */
export function cacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".cache"), "cluelab");
}

/** Where `cluelab data download` writes by default: `$CLUELAB_DATA`, else the user cache folder. */
export function defaultDataDir(): string {
  const env = process.env.CLUELAB_DATA;
  return env ? resolve(env) : cacheDir();
}

/** System folders known to hold a dataset (by cluelab dataset name). */
const SYSTEM_LOCATIONS: Record<string, string[]> = {
  "fashion-mnist": ["/usr/share/datasets/fashion-mnist"],
};

/** The folders searched for dataset `name` when no root is given, in order. */
export function searchPath(name: string): string[] {
  const dirs: string[] = [];
  const env = process.env.CLUELAB_DATA;
  if (env) dirs.push(join(resolve(env), name), resolve(env));
  dirs.push(...(SYSTEM_LOCATIONS[name] ?? []));
  dirs.push(join(cacheDir(), name));
  return dirs;
}

/** How a reader recognises its files in a folder. */
export interface Probe<T> {
  /** cluelab's name for the dataset ("cifar10", "fashion-mnist", …). */
  name: string;
  /** A title for messages ("CIFAR-10 (train)"). */
  title: string;
  /** Subfolders a download or an archive puts the files in (tried below each folder). */
  subdirs?: string[];
  /** Returns what it found in `dir`, or undefined when the files are not there. */
  probe(dir: string): Promise<T | undefined>;
  /** What the files are, for the message when nothing is found. */
  expected: string;
  /** Whether `cluelab data download <name>` can fetch it. */
  downloadable: boolean;
}

/**
 * Finds a dataset: in `root` (and its known subfolders) when given, else along {@link searchPath}.
 * The error lists every folder tried and how to get the data.
 */
export async function locate<T>(spec: Probe<T>, root?: string): Promise<{ dir: string; found: T }> {
  const bases = root !== undefined ? [resolve(root)] : searchPath(spec.name);
  const tried: string[] = [];
  for (const base of bases) {
    for (const dir of [base, ...(spec.subdirs ?? []).map((s) => join(base, s))]) {
      tried.push(dir);
      const found = await spec.probe(dir);
      if (found !== undefined) return { dir, found };
    }
  }
  const how =
    root !== undefined
      ? `Check the path, or leave out \`root\` to search $CLUELAB_DATA, system locations and ${cacheDir()}.`
      : spec.downloadable
        ? `Run \`cluelab data download ${spec.name}\` (or pass { root } to where the files are).`
        : "Pass { root } to the folder that holds it.";
  throw new DataError(`${spec.title} was not found: expected ${spec.expected}. Looked in ${tried.join(", ")}. ${how}`);
}
