/**
 * Runs batch jobs in worker threads (or in-process), keeping results in job order.
 *
 * @packageDocumentation
 */
import { Worker } from "node:worker_threads";
import { BatchAssembler, type AssemblerConfig, type BatchJob, type BatchResult } from "./assemble.js";
import { fromWire, type FromWorker } from "./protocol.js";

/** Something that builds batches. */
export interface BatchRunner {
  run(job: BatchJob): Promise<BatchResult>;
  close(): Promise<void>;
}

/** Builds batches on the calling thread (`workers: 0`). */
export class InProcessRunner implements BatchRunner {
  private constructor(private readonly assembler: BatchAssembler) {}

  static async start(config: AssemblerConfig): Promise<InProcessRunner> {
    return new InProcessRunner(await BatchAssembler.open(config));
  }

  run(job: BatchJob): Promise<BatchResult> {
    return this.assembler.assemble(job);
  }

  close(): Promise<void> {
    return this.assembler.close();
  }
}

interface Pending {
  resolve(result: BatchResult): void;
  reject(error: Error): void;
}

/** One worker thread and the jobs it owes. */
class WorkerHandle {
  readonly pending = new Map<number, Pending>();
  readonly exited: Promise<void>;
  private failure: Error | undefined;
  private closing = false;

  constructor(readonly worker: Worker) {
    this.exited = new Promise((resolve) => worker.once("exit", () => resolve()));
    worker.on("message", (message: FromWorker) => {
      if (message.type === "done") {
        this.take(message.result.id)?.resolve(message.result);
      } else if (message.type === "failed") {
        this.take(message.id)?.reject(fromWire(message.error));
      } else if (message.type === "fatal") {
        this.fail(fromWire(message.error));
      }
    });
    worker.on("error", (error) => this.fail(error));
    worker.on("exit", (code) => this.fail(new Error(`batch loader worker exited (code ${code}) with batches outstanding`)));
  }

  private take(id: number): Pending | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    this.updateRef();
    return p;
  }

  /** Keeps the process alive while batches are owed, and only then (an abandoned loader must not). */
  private updateRef(): void {
    if (this.pending.size > 0 || this.closing) this.worker.ref();
    else this.worker.unref();
  }

  /** Asks the worker to finish its current batch and exit; resolves when it has. */
  close(): Promise<void> {
    this.fail(new Error("the batch loader was closed"));
    this.closing = true;
    this.updateRef(); // until it has exited
    this.worker.postMessage({ type: "close" });
    return this.exited;
  }

  fail(error: Error): void {
    this.failure ??= error;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
    this.updateRef();
  }

  run(job: BatchJob): Promise<BatchResult> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(job.id, { resolve, reject });
      this.updateRef();
      this.worker.postMessage({ type: "job", job });
    });
  }
}

/** Builds batches in `count` worker threads, job k on worker k mod count. */
export class WorkerPool implements BatchRunner {
  private constructor(private readonly handles: WorkerHandle[]) {}

  static async start(config: AssemblerConfig, count: number): Promise<WorkerPool> {
    if (config.source.kind === "images") {
      // sharp's shared libraries must stay loaded in the main thread while workers use them
      // (otherwise a worker's exit unloads them under the others).
      await import("sharp");
    }
    const handles = Array.from({ length: count }, () => {
      return new WorkerHandle(new Worker(new URL("./worker.js", import.meta.url), { workerData: config }));
    });
    await Promise.all(
      handles.map(
        (h) =>
          new Promise<void>((resolve, reject) => {
            const onMessage = (message: FromWorker) => {
              if (message.type === "ready") resolve();
              if (message.type === "fatal") reject(fromWire(message.error));
            };
            h.worker.on("message", onMessage);
            h.worker.once("error", reject);
            h.worker.once("exit", () => reject(new Error("batch loader worker exited while starting")));
          }),
      ),
    ).catch(async (error) => {
      await Promise.all(handles.map((h) => h.worker.terminate()));
      throw error;
    });
    for (const h of handles) h.worker.unref(); // referenced again while it owes batches
    return new WorkerPool(handles);
  }

  run(job: BatchJob): Promise<BatchResult> {
    return this.handles[job.id % this.handles.length]!.run(job);
  }

  async close(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.close()));
  }
}
