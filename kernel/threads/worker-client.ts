/**
 * The protocol worker's handle on a TypeScript worker (the checker, or the syntax worker):
 * requests by id, and a fresh worker if the old one dies (its pending requests fail with a
 * clear error).
 */
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import type { CheckerRequest, CheckerResponse, CheckerResults } from "./messages.js";

type Pending = { resolve(value: unknown): void; reject(error: Error): void };
export type Op = CheckerRequest["op"];
export type Args<O extends Op> = Omit<Extract<CheckerRequest, { op: O }>, "id" | "op">;

export interface Requester {
  request<O extends Op>(op: O, args: Args<O>): Promise<CheckerResults[O]>;
}

export class WorkerClient implements Requester {
  private worker!: Worker;
  private port!: MessagePort;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closing = false;

  /**
   * @param script the worker module
   * @param data its workerData (a `port` is added)
   * @param lost what the error of requests lost in a crash says about the consequences
   */
  constructor(
    private readonly script: URL,
    private readonly data: Record<string, unknown>,
    private readonly lost: string,
    private readonly log: (line: string) => void,
    private readonly debug: (line: string) => void,
  ) {
    this.spawn();
  }

  request<O extends Op>(op: O, args: Args<O>): Promise<CheckerResults[O]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.port.postMessage({ id, op, ...args });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }

  private spawn(): void {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(this.script, { workerData: { ...this.data, port: port2 }, transferList: [port2], stdout: true, stderr: false });
    port1.on("message", (response: CheckerResponse) => {
      if ("log" in response) {
        (response.debug ? this.debug : this.log)(response.log);
        return;
      }
      const pending = this.pending.get(response.id);
      if (!pending) return;
      this.pending.delete(response.id);
      if (response.ok) pending.resolve(response.result);
      else pending.reject(new Error(`the type checker failed: ${response.error}`));
    });
    this.worker.on("error", (error) => this.log(`${this.script.pathname} crashed: ${error.stack ?? error.message}`));
    this.worker.on("exit", (code) => {
      if (this.closing) return;
      const failure = new Error(`a TypeScript worker stopped (exit code ${code}) and was restarted; ${this.lost}`);
      for (const pending of this.pending.values()) pending.reject(failure);
      this.pending.clear();
      port1.close();
      this.spawn();
    });
    this.worker.unref();
  }
}
