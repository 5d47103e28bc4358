/**
 * Turns SIGINT into an interrupt, even while the main thread is busy: Node delivers signals to
 * JavaScript only on the main thread's event loop, which a running cell blocks. This thread
 * waits inside a `vm` call with `breakOnSigint`, whose watchdog catches SIGINT natively and
 * ends the wait; each catch becomes a message to the protocol worker.
 *
 * Why the watchdog is held started (Node's src/node_watchdog.cc): the first `breakOnSigint`
 * call starts a process-wide SIGINT handler that replaces every other one (libuv's, behind
 * `process.on("SIGINT")`, included), and when the last such call returns Node installs a
 * handler that ends the process. A loop of waits alone therefore leaves, after every catch, a
 * few microseconds in which a second SIGINT kills the kernel (measured: 8 of 60 pairs of
 * SIGINTs sent 0–300 µs apart). `startSigintWatchdog()` — what Node's REPL calls before it
 * evaluates with `breakOnSigint`, for the same reason — keeps the handler for the life of the
 * process; a SIGINT that arrives between two waits is then kept as pending, and the next wait
 * reports it at once. Node exposes that call only through `process.binding("contextify")`;
 * where it is missing, the protocol worker runs two of these threads instead, so that one
 * always waits while the other reports (a kernel then survives any two SIGINTs in a row).
 */
import { Script } from "node:vm";
import { workerData, type MessagePort } from "node:worker_threads";
import { nodeBinding } from "../node-binding.js";

interface WatchdogBinding {
  startSigintWatchdog(): boolean;
  watchdogHasPendingSigint(): boolean;
}

export interface SignalWorkerData {
  port: MessagePort;
  /** Hold Node's SIGINT watchdog started for the life of the process (the first thread does). */
  hold: boolean;
}

/** What the thread says first: whether the watchdog is held. Then one "SIGINT" per signal. */
export type SignalMessage = { held: boolean } | "SIGINT";

const { port, hold } = workerData as SignalWorkerData;

function heldWatchdog(): WatchdogBinding | undefined {
  const binding = nodeBinding<WatchdogBinding>("contextify");
  if (typeof binding?.startSigintWatchdog !== "function" || typeof binding.watchdogHasPendingSigint !== "function") return undefined;
  return binding.startSigintWatchdog() ? (binding as WatchdogBinding) : undefined;
}

const watchdog = hold ? heldWatchdog() : undefined;
port.postMessage({ held: watchdog !== undefined } satisfies SignalMessage);

const wake = new Int32Array(new SharedArrayBuffer(4));
// Returns only when a SIGINT is pending (nothing ever notifies `wake`); otherwise the watchdog
// ends the wait by terminating it.
(globalThis as Record<string, unknown>).__cluelabWaitForSignal = () => {
  if (!watchdog?.watchdogHasPendingSigint()) Atomics.wait(wake, 0, 0);
};
const wait = new Script("__cluelabWaitForSignal()");

for (;;) {
  try {
    wait.runInThisContext({ breakOnSigint: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ERR_SCRIPT_EXECUTION_INTERRUPTED") throw error;
  }
  port.postMessage("SIGINT" satisfies SignalMessage);
}
