/**
 * Fetches one file over HTTP(S) into `<dest>.part`, resuming with a `Range` request after a
 * dropped connection (in the same run, a few times, and in a later run from what is on disk),
 * then checks its size and checksums before renaming it to `dest`. A file that fails its
 * checksum is deleted, never kept under its final name.
 *
 * @packageDocumentation
 */
import { createHash, type Hash } from "node:crypto";
import { closeSync, createReadStream, openSync, writeSync } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import * as http from "node:http";
import * as https from "node:https";
import type { IncomingMessage } from "node:http";
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

/** Feeds a whole file to the hashes (a resumed download is checked end to end, from disk). */
async function hashFile(path: string, hashes: Hash[]): Promise<void> {
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

/** An HTTP response as a Node stream (which, unlike fetch's, hands over every byte received before a drop). */
function get(url: string, headers: Record<string, string>, signal: AbortSignal | undefined, redirects = 5): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      reject(new DataError(`not a valid URL`, url));
      return;
    }
    const client = parsed.protocol === "https:" ? https : parsed.protocol === "http:" ? http : undefined;
    if (!client) {
      reject(new DataError(`unsupported protocol ${parsed.protocol} (expected http: or https:)`, url));
      return;
    }
    // A fresh connection per request: after a drop, a pooled keep-alive socket may be the dead one.
    const request = client.get(parsed, { headers, signal, agent: false }, (response) => {
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (status >= 300 && status < 400 && location) {
        response.resume();
        if (redirects === 0) reject(new DataError("too many redirects", url));
        else get(new URL(location, parsed).href, headers, signal, redirects - 1).then(resolve, reject);
        return;
      }
      resolve(response);
    });
    request.on("error", (error) => reject(signal?.aborted ? error : new Retryable(`cannot connect (${causeOf(error)})`)));
  });
}

async function fetchOnce(file: RemoteFile, url: string, part: string, options: FetchOptions): Promise<void> {
  let have = await sizeOf(part);
  if (have > file.size) {
    await rm(part, { force: true });
    have = 0;
  }
  const resumedFrom = have;
  if (have === file.size) return;
  const response = await get(url, have > 0 ? { Range: `bytes=${have}-` } : {}, options.signal);
  const status = response.statusCode ?? 0;
  const discard = () => response.destroy();
  if (status >= 500) {
    discard();
    throw new Retryable(`server error ${status} ${response.statusMessage}`);
  }
  let append = false;
  if (have > 0 && status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers["content-range"] ?? "");
    if (!range || Number(range[1]) !== have) {
      discard();
      throw new DataError(`the server answered the resume request with range "${response.headers["content-range"]}", expected bytes ${have}-`, url);
    }
    append = true;
  } else if (status === 416 && have > 0) {
    // The part is stale (or complete under another length): start over.
    discard();
    await rm(part, { force: true });
    throw new Retryable("the server refused to resume (416)");
  } else if (status !== 200) {
    discard();
    throw new DataError(`the server answered ${status} ${response.statusMessage} (expected the file)`, url);
  }
  const offset = append ? have : 0;
  const length = Number(response.headers["content-length"] ?? NaN);
  if (Number.isFinite(length) && offset + length !== file.size) {
    discard();
    throw new DataError(
      `the server offers ${(offset + length).toLocaleString("en")} bytes, expected ${file.size.toLocaleString("en")} (the file changed upstream, or the mirror holds another file)`,
      url,
    );
  }
  // Each chunk goes to disk as it arrives ('data' events, synchronous writes): a stream that is
  // destroyed by a dropped connection discards what it buffered, and a resume needs every byte.
  const fd = openSync(part, append ? "a" : "w");
  let received = offset;
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (error: Error) => {
        if (failed) return;
        failed = true;
        response.destroy();
        reject(error);
      };
      response.on("data", (chunk: Buffer) => {
        if (failed) return;
        if (received + chunk.length > file.size) {
          fail(new DataError(`the server sent more than the expected ${file.size} bytes`, url));
          return;
        }
        writeSync(fd, chunk);
        received += chunk.length;
        options.onProgress?.({ file: file.name, received, total: file.size, resumedFrom });
      });
      response.on("error", (error) => fail(options.signal?.aborted ? error : new Retryable(`the connection dropped after ${received.toLocaleString("en")} bytes (${causeOf(error)})`)));
      response.on("close", () => {
        if (response.complete) resolve();
        else fail(new Retryable(`the connection dropped after ${received.toLocaleString("en")} bytes`));
      });
    });
  } finally {
    closeSync(fd);
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
  await hashFile(path, [md5, sha]);
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
