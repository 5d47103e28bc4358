/**
 * The kernel process, started by `cluelab kernel --connection-file FILE` (what the kernelspec
 * runs). The main thread runs user code; the protocol loop lives in a worker (see
 * threads/messages.ts for who does what).
 */
import { writeSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { OWN_MODULES } from "./paths.js";
import { readConnectionFile } from "./wire/connection.js";
import { interruptBuffer } from "./runtime/abort.js";
import { installAsyncStackReset } from "./runtime/async-stack.js";
import { inputBuffer } from "./runtime/prompt.js";
import { Runtime } from "./runtime/runtime.js";
import type { FromMain, Lifecycle, ToMain } from "./threads/messages.js";
import type { ProtocolWorkerData } from "./threads/protocol-worker.js";

/** Ambient declarations of the globals the runtime installs, for the type checker. */
const GLOBALS = `/** Asks the frontend for a line of text (stdin \`input_request\`); blocks until it answers. */
declare function prompt(message?: string, defaultValue?: string): string | null;
`;

/** How long an interrupted cell gets to stop on its own before it is stopped (`CLUELAB_INTERRUPT_GRACE_MS`). */
export const DEFAULT_INTERRUPT_GRACE_MS = 3000;

export interface KernelOptions {
  connectionFile: string;
  /** Milliseconds an interrupted cell gets to stop after its AbortSignal fired. */
  graceMs?: number;
}

/** Starts the kernel; resolves once its sockets are bound. */
export async function startKernel(options: KernelOptions): Promise<void> {
  const log = (line: string) => writeSync(2, `[cluelab kernel] ${line}\n`);
  const buffer = inputBuffer();
  const interrupts = interruptBuffer();
  // Longer than one step of a training loop (a CLUENet step on a CPU takes a second or more), so an
  // interrupt lets the loop see its AbortSignal between steps and stop with the model intact
  // instead of being terminated mid-step.
  const graceMs = options.graceMs ?? Number(process.env.CLUELAB_INTERRUPT_GRACE_MS ?? DEFAULT_INTERRUPT_GRACE_MS);
  // Read here first, so a bad file is one clear line, not a worker's stack trace.
  const connection = readConnectionFile(options.connectionFile);
  const data: ProtocolWorkerData = { connection, directory: process.cwd(), inputBuffer: buffer, interruptBuffer: interrupts, graceMs, globals: GLOBALS };
  const worker = new Worker(new URL("./threads/protocol-worker.js", import.meta.url), { workerData: data, stdout: true, stderr: false });
  const runtime = new Runtime({
    post: (message: FromMain) => worker.postMessage(message),
    inputBuffer: buffer,
    interruptBuffer: interrupts,
    modules: { directory: process.cwd(), builtins: OWN_MODULES },
    graceMs,
    log: process.env.CLUELAB_DEBUG ? log : () => {},
  });
  runtime.install();
  installAsyncStackReset();
  // SIGINT is the signal worker's (it catches it even while a cell keeps this thread busy, and its
  // watchdog's handler then replaces this one); this listener covers the start-up, until that
  // thread waits, instead of Node's default (exit).
  process.on("SIGINT", () => worker.postMessage({ type: "sigint" } satisfies FromMain));
  return new Promise((resolve, reject) => {
    worker.on("message", (message: ToMain | Lifecycle) => {
      if (message.type === "ready") resolve();
      // The worker goes first: with its inspector session still open, Node would print
      // "Waiting for the debugger to disconnect..." on exit.
      else if (message.type === "exit") void worker.terminate().finally(() => process.exit(message.code));
      else runtime.handle(message);
    });
    worker.on("error", (error) => {
      log(`protocol worker failed: ${process.env.CLUELAB_DEBUG ? error.stack : error.message}`);
      reject(error);
      process.exit(1);
    });
  });
}
