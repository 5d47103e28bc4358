/**
 * Turns SIGINT into an interrupt, even while the main thread is busy: Node delivers signals to
 * JavaScript only on the main thread's event loop, which a running cell blocks. This thread
 * waits inside a `vm` call with `breakOnSigint`, whose watchdog catches SIGINT natively and
 * interrupts the wait; each catch becomes a message to the protocol worker.
 */
import { Script } from "node:vm";
import { workerData, type MessagePort } from "node:worker_threads";

const { port } = workerData as { port: MessagePort };
const wake = new Int32Array(new SharedArrayBuffer(4));
(globalThis as Record<string, unknown>).__cluelabWaitForSignal = () => Atomics.wait(wake, 0, 0);
const wait = new Script("__cluelabWaitForSignal()");

for (;;) {
  try {
    wait.runInThisContext({ breakOnSigint: true });
  } catch {
    port.postMessage("SIGINT");
  }
}
