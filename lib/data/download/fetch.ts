/**
 * Fetches one file over HTTP(S) into `<dest>.part`, resuming with a `Range` request after a
 * dropped connection (in the same run, a few times, and in a later run from what is on disk),
 * then checks its size and checksums before renaming it to `dest`. A file that fails its
 * checksum is deleted, never kept under its final name.
 *
 * @packageDocumentation
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, rename, rm, stat } from "node:fs/promises";
import { DataError } from "../errors.js";
import type { RemoteFile } from "./catalog.js";

/** Progress of one file. */
export interface DownloadProgress {
  file: string;
  received: number;
  total: number;
  /** Bytes that were already on disk from an earlier attempt. */
  resumedFrom: number;
}

/** Options of {@link fetchFile}. */
export interface FetchOptions {
  /** Fetch from `<mirror>/<file name>` instead of the publisher's URL. */
  mirror?: string;
  onProgress?: (progress: DownloadProgress) => void;
  /** Further attempts after a dropped connection, each resuming where the last stopped (default 3). */
  retries?: number;
  /** Milliseconds before the first retry, doubling after (default 1000). */
  retryDelayMs?: number;
  signal?: AbortSignal;
}

/** Where a file is fetched from. */
export function sourceUrl(file: RemoteFile, mirror?: string): string {
  return mirror ? `${mirror.replace(/\/+$/, "")}/${encodeURIComponent(file.name)}` : file.url;
}

async function sizeOf(path: string): Promise<number> {
  return stat(path).then((s) => s.size, () => 0);
}

/** Hashes the first bytes already on disk so a resumed download is still checked end to end. */
async function hashExisting(path: string, hashes: Hash[]): Promise<void> {
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) for (const h of hashes) h.update(chunk);
}

/** A transient failure worth resuming after (connection dropped, reset, timed out, 5xx). */
class Retryable extends Error {}

/**
 * Downloads `file` to `dest` (resuming `dest.part` when present) and verifies it. Returns its
 * SHA-256. A file already at `dest` is re-verified instead of fetched.
 */
export async function fetchFile(file: RemoteFile, dest: string, options: FetchOptions = {}): Promise<{ sha256: string; url: string }> {
  const url = sourceUrl(file, options.mirror);
  if ((await sizeOf(dest)) === file.size) {
    const sha256 = await verifyFile(dest, file, url);
    return { sha256, url };
  }
  const part = `${dest}.part`;
  const retries = options.retries ?? 3;
  let delay = options.retryDelayMs ?? 1000;
  for (let attempt = 0; ; attempt++) {
    try {
      await fetchOnce(file, url, part, options);
      break;
    } catch (error) {
      if (!(error instanceof Retryable) || attempt >= retries || options.signal?.aborted) {
        if (error instanceof Retryable) {
          const got = await sizeOf(part);
          throw new DataError(
            `${error.message}; ${got.toLocaleString("en")} of ${file.size.toLocaleString("en")} bytes are kept in ${part}: run the download again to resume`,
            url,
          );
        }
        throw error;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  }
  const sha256 = await verifyFile(part, file, url);
  await rename(part, dest);
  return { sha256, url };
}

async function fetchOnce(file: RemoteFile, url: string, part: string, options: FetchOptions): Promise<void> {
  let have = await sizeOf(part);
  if (have > file.size) {
    await rm(part, { force: true });
    have = 0;
  }
  const resumedFrom = have;
  if (have === file.size) return;
  let response: Response;
  try {
    response = await fetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, signal: options.signal, redirect: "follow" });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new Retryable(`cannot connect (${causeOf(error)})`);
  }
  if (response.status >= 500) throw new Retryable(`server error ${response.status} ${response.statusText}`);
  let append = false;
  if (have > 0 && response.status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get("content-range") ?? "");
    if (!range || Number(range[1]) !== have) {
      await response.body?.cancel();
      throw new DataError(`the server answered the resume request with range "${response.headers.get("content-range")}", expected bytes ${have}-`, url);
    }
    append = true;
  } else if (response.status === 416 && have > 0) {
    // The part may be complete already, or stale: start over, once.
    await response.body?.cancel();
    await rm(part, { force: true });
    throw new Retryable("the server refused to resume (416)");
  } else if (response.status !== 200) {
    await response.body?.cancel();
    throw new DataError(`the server answered ${response.status} ${response.statusText} (expected the file)`, url);
  }
  const offset = append ? have : 0;
  const length = Number(response.headers.get("content-length") ?? NaN);
  if (Number.isFinite(length) && offset + length !== file.size) {
    await response.body?.cancel();
    throw new DataError(
      `the server offers ${(offset + length).toLocaleString("en")} bytes, expected ${file.size.toLocaleString("en")} (the file changed upstream, or the mirror holds another file)`,
      url,
    );
  }
  const handle = await open(part, append ? "a" : "w");
  let received = offset;
  try {
    if (!response.body) throw new Retryable("empty response");
    const reader = response.body.getReader();
    for (;;) {
      let chunk: { done: boolean; value?: Uint8Array };
      try {
        chunk = await reader.read();
      } catch (error) {
        if (options.signal?.aborted) throw error;
        throw new Retryable(`the connection dropped after ${received.toLocaleString("en")} bytes (${causeOf(error)})`);
      }
      if (chunk.done || !chunk.value) break;
      if (received + chunk.value.length > file.size) throw new DataError(`the server sent more than the expected ${file.size} bytes`, url);
      await handle.write(chunk.value);
      received += chunk.value.length;
      options.onProgress?.({ file: file.name, received, total: file.size, resumedFrom });
    }
  } finally {
    await handle.close();
  }
  if (received < file.size) throw new Retryable(`the connection closed after ${received.toLocaleString("en")} bytes`);
}

function causeOf(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message;
}

/**
 * Checks `path` against `file`'s size and checksums; on a mismatch deletes it and throws.
 * Returns the SHA-256.
 */
export async function verifyFile(path: string, file: RemoteFile, url: string): Promise<string> {
  const size = await sizeOf(path);
  const md5 = createHash("md5");
  const sha = createHash("sha256");
  await hashExisting(path, [md5, sha]);
  const got = { md5: md5.digest("hex"), sha256: sha.digest("hex") };
  const problems: string[] = [];
  if (size !== file.size) problems.push(`${size} bytes, expected ${file.size}`);
  if (file.md5 && got.md5 !== file.md5.toLowerCase()) problems.push(`MD5 ${got.md5}, expected ${file.md5}`);
  if (file.sha256 && got.sha256 !== file.sha256.toLowerCase()) problems.push(`SHA-256 ${got.sha256}, expected ${file.sha256}`);
  if (problems.length > 0) {
    await rm(path, { force: true });
    throw new DataError(
      `${file.name} failed verification (${problems.join("; ")}): the download is corrupt or the file changed upstream. ` +
        `It was deleted; run the download again to retry.`,
      url,
    );
  }
  return got.sha256;
}
