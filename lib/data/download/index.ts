/**
 * `download(name)`: fetches a dataset's canonical archives, verifies them, and installs the
 * dataset atomically: everything is unpacked into a hidden temporary folder next to the target
 * and renamed into place at the end, so `<dir>/<name>` either holds the whole dataset or does
 * not exist. Archives are kept in `<dir>/.downloads/` until the dataset is installed, so an
 * interrupted download resumes.
 *
 * @packageDocumentation
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, rename, rm, rmdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import * as tar from "tar";
import { currentAbortSignal } from "../../display/protocol.js";
import { DataError } from "../errors.js";
import { defaultDataDir } from "../locate.js";
import { DOWNLOADS, DOWNLOADABLE, MIRROR_ENV, type DownloadSpec } from "./catalog.js";
import { fetchFile, type DownloadProgress, type FetchOptions } from "./fetch.js";

export { DOWNLOADS, DOWNLOADABLE, MIRROR_ENV, type DownloadSpec, type RemoteFile } from "./catalog.js";
export type { DownloadProgress } from "./fetch.js";

/** Options of {@link download}. */
export interface DownloadOptions extends Omit<FetchOptions, "onProgress"> {
  /** The data folder (default `$CLUELAB_DATA`, else `~/.cache/cluelab`); the dataset goes in `<dir>/<name>`. */
  dir?: string;
  /** Keep the verified archives in `<dir>/.downloads/<name>` after installing (default false). */
  keepArchives?: boolean;
  onProgress?: (progress: DownloadProgress) => void;
}

/** What {@link download} did. */
export interface DownloadResult {
  /** The installed dataset folder. */
  dir: string;
  /** True when it was already there and nothing was fetched. */
  alreadyPresent: boolean;
}

function specFor(name: string | DownloadSpec): DownloadSpec {
  if (typeof name !== "string") return name;
  const spec = DOWNLOADS[name];
  if (!spec) {
    throw new DataError(`no download is known for "${name}"; known: ${DOWNLOADABLE.join(", ")} (Mini-ImageNet and image folders have no canonical public archive)`);
  }
  return spec;
}

/**
 * Downloads, verifies and installs dataset `name` (one of {@link DOWNLOADABLE}) into
 * `<dir>/<name>`. Set `$CLUELAB_DATA_MIRROR` (or `mirror`) to fetch the archives from another
 * server. Nothing outside `<dir>/<name>`, `<dir>/.downloads` and a temporary folder is written.
 */
export async function download(name: string | DownloadSpec, options: DownloadOptions = {}): Promise<DownloadResult> {
  const spec = specFor(name);
  const dir = resolve(options.dir ?? defaultDataDir());
  const target = join(dir, spec.name);
  if (existsSync(target)) return { dir: target, alreadyPresent: true };
  const staging = join(dir, ".downloads", spec.name);
  await mkdir(staging, { recursive: true });
  const mirror = options.mirror ?? (process.env[MIRROR_ENV] || undefined);

  const fetched: { name: string; url: string; size: number; md5?: string; sha256: string }[] = [];
  // In a notebook, interrupting the cell stops the download (what was fetched is kept for resuming).
  const signal = options.signal ?? currentAbortSignal();
  for (const file of spec.files) {
    const { sha256, url } = await fetchFile(file, join(staging, file.name), { ...options, mirror, signal });
    fetched.push({ name: file.name, url, size: file.size, md5: file.md5, sha256 });
  }

  const temp = join(dir, `.${spec.name}.installing-${randomBytes(4).toString("hex")}`);
  await mkdir(temp);
  try {
    for (const file of spec.files) {
      const archive = join(staging, file.name);
      if (spec.install === "extract") {
        try {
          // strict: a damaged archive is an error, not a warning; tar refuses absolute and ../ paths.
          await tar.x({ file: archive, cwd: temp, strict: true, preservePaths: false });
        } catch (error) {
          throw new DataError(`cannot unpack (${(error as Error).message}); delete it and download again`, archive);
        }
      } else {
        await copyFile(archive, join(temp, file.name));
      }
    }
    const record = { dataset: spec.name, downloaded: new Date().toISOString(), files: fetched };
    await writeFile(join(temp, ".cluelab-download.json"), JSON.stringify(record, null, 2) + "\n");
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  if (!options.keepArchives) {
    await rm(staging, { recursive: true, force: true });
    await rmdir(join(dir, ".downloads")).catch(() => {}); // only when no other download is pending there
  }
  return { dir: target, alreadyPresent: false };
}
