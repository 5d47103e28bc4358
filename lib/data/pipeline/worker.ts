/**
 * A batch-loader worker thread: opens the source described in `workerData`, then builds batches
 * one after another as the main thread asks, posting each back with its buffers transferred (no
 * copy). It never imports TensorFlow.js: tensors are made on the main thread.
 */
import { parentPort, workerData } from "node:worker_threads";
import { BatchAssembler, type AssemblerConfig, type BatchJob } from "./assemble.js";
import { toWire, type FromWorker, type ToWorker } from "./protocol.js";

const port = parentPort!;
const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

const queue: BatchJob[] = [];
let closing = false;
let busy = false;
let assembler: BatchAssembler;

async function drain(): Promise<void> {
  if (busy) return;
  busy = true;
  while (queue.length > 0 && !closing) {
    const job = queue.shift()!;
    try {
      const result = await assembler.assemble(job);
      post({ type: "done", result }, result.views.map((v) => v.buffer as ArrayBuffer));
    } catch (error) {
      post({ type: "failed", id: job.id, error: toWire(error) });
    }
  }
  busy = false;
  if (closing) await shutdown();
}

async function shutdown(): Promise<void> {
  await assembler?.close();
  port.close();
}

port.on("message", (message: ToWorker) => {
  if (message.type === "job") {
    queue.push(message.job);
    void drain();
  } else {
    closing = true;
    queue.length = 0;
    // An in-flight batch finishes first: stopping libvips mid-decode can crash the process.
    if (!busy) void shutdown();
  }
});

try {
  assembler = await BatchAssembler.open(workerData as AssemblerConfig);
  post({ type: "ready" });
} catch (error) {
  post({ type: "fatal", error: toWire(error) });
  port.close();
}
