/**
 * What the kernel's threads say to each other.
 *
 * - main thread: runs user code (same realm as the libraries it imports);
 * - protocol worker: sockets, heartbeat, the protocol core, interrupts;
 * - checker worker: TypeScript (check, compile, complete, inspect);
 * - signal worker: turns SIGINT into an interrupt even while the main thread is busy.
 *
 * An "origin" is the protocol worker's id of one request handed to the main thread (a cell or a
 * frontend comm message); outputs carry it so the worker can tell a cell's outputs from those
 * produced between cells.
 */
import type { ExecuteOutcome, Output } from "../protocol/core.js";
import type { CompileResult } from "../typescript/session.js";
import type { CompleteReply, InspectReply, IsCompleteReply, JsonObject } from "../protocol/messages.js";

/** Protocol worker → main thread. */
export type ToMain =
  | {
      type: "run";
      origin: number;
      /** The checker's slot number of the cell (names its source URL). */
      cell: number;
      executionCount: number;
      js: string;
      sourceMap: string;
      allowStdin: boolean;
      userExpressions: Record<string, string>;
    }
  | { type: "interrupt"; origin: number | null }
  | { type: "ping" }
  | { type: "interrupted"; origin: number }
  | { type: "comm"; origin: number; kind: "comm_open" | "comm_msg" | "comm_close"; content: JsonObject; buffers: Uint8Array[] }
  | { type: "shutdown" };

/** Main thread → protocol worker. */
export type FromMain =
  /** `note`: for an error thrown asynchronously after its cell, a summary for the next cell (core.ts `late`). */
  | { type: "output"; origin: number | null; output: Output; note?: string }
  /** `bindings`: for a cell, whether it started and which of its marked names it bound (transform.ts). */
  | { type: "done"; origin: number; outcome: ExecuteOutcome; bindings: { ran: boolean; bound: string[] } }
  | { type: "input"; origin: number; prompt: string; password: boolean }
  | { type: "pong" }
  | { type: "comm-done"; origin: number }
  /** SIGINT reached the main thread's own listener (the signal worker was not waiting). */
  | { type: "sigint" };

/** Protocol worker → main thread, once at start-up and at exit. */
export type Lifecycle = { type: "ready" } | { type: "exit"; code: number };

/** Protocol worker → checker worker. */
export type CheckerRequest =
  | { id: number; op: "compile"; code: string; executionCount: number }
  /** After a cell failed or was interrupted: which of its names it bound (see CellSession.settle). */
  | { id: number; op: "settle"; cell: number; ran: boolean; bound: string[] }
  | { id: number; op: "complete"; code: string; cursor: number }
  | { id: number; op: "inspect"; code: string; cursor: number; detailLevel: 0 | 1 }
  | { id: number; op: "isComplete"; code: string };

export interface CheckerResults {
  compile: CompileResult;
  settle: null;
  complete: CompleteReply;
  inspect: InspectReply;
  isComplete: IsCompleteReply;
}

/** Checker worker → protocol worker. */
export type CheckerResponse =
  | { id: number; ok: true; result: CheckerResults[keyof CheckerResults] }
  | { id: number; ok: false; error: string }
  | { id: -1; log: string; debug?: boolean };

/**
 * The shared buffer a synchronous `prompt()` waits on: [state, byte length] then UTF-8 bytes.
 * The main thread blocks on `state` with `Atomics.wait`; the protocol worker answers.
 */
export const INPUT_BUFFER_BYTES = 1 << 20;
export const InputState = { Waiting: 0, Value: 1, Error: 2, Interrupted: 3 } as const;
