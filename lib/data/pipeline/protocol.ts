/** Messages between the batch loader (main thread) and its worker threads. */
import { BadImageError, DataError } from "../errors.js";
import type { BatchJob, BatchResult } from "./assemble.js";

/** Main → worker. */
export type ToWorker = { type: "job"; job: BatchJob } | { type: "close" };

/** An error, flattened for postMessage and rebuilt on the main thread. */
export interface WireError {
  message: string;
  path?: string;
  /** "data": a DataError; "bad-image": a BadImageError; "other": anything else (a bug). */
  kind: "data" | "bad-image" | "other";
  stack?: string;
}

/** Worker → main. */
export type FromWorker =
  | { type: "ready" }
  | { type: "done"; result: BatchResult }
  | { type: "failed"; id: number; error: WireError }
  | { type: "fatal"; error: WireError };

/** Flattens an error for postMessage. */
export function toWire(error: unknown): WireError {
  if (error instanceof DataError) {
    return { message: error.message, path: error.path, kind: error instanceof BadImageError ? "bad-image" : "data" };
  }
  const e = error instanceof Error ? error : new Error(String(error));
  return { message: e.message, kind: "other", stack: e.stack };
}

/** Rebuilds an error posted by {@link toWire}. */
export function fromWire(error: WireError): Error {
  if (error.kind === "bad-image") return new BadImageError(error.message, error.path);
  if (error.kind === "data") return new DataError(error.message, error.path);
  const e = new Error(`batch loader worker: ${error.message}`);
  if (error.stack) e.stack = error.stack;
  return e;
}
