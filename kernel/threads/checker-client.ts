/**
 * The protocol worker's handle on the checker worker: requests by id, and a fresh checker if
 * the old one dies (its pending requests fail with a clear error; declarations of earlier cells
 * are lost to the type checker, which the error says).
 */
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import type { SessionSetup } from "../typescript/session.js";
import type { CheckerRequest, CheckerResponse, CheckerResults } from "./messages.js";

type Pending = { resolve(value: unknown): void; reject(error: Error): void };
type Op = CheckerRequest["op"];
type Args<O extends Op> = Omit<Extract<CheckerRequest, { op: O }>, "id" | "op">;

export class CheckerClient {
  private worker!: Worker;
  private port!: MessagePort;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closing = false;

  constructor(
    private readonly setup: SessionSetup,
    private readonly log: (line: string) => void,
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
    this.worker = new Worker(new URL("../typescript/worker.js", import.meta.url), {
      workerData: { port: port2, setup: this.setup },
      transferList: [port2],
      stdout: true,
      stderr: false,
    });
    port1.on("message", (response: CheckerResponse) => {
      if ("log" in response) {
        this.log(response.log);
        return;
      }
      const pending = this.pending.get(response.id);
      if (!pending) return;
      this.pending.delete(response.id);
      if (response.ok) pending.resolve(response.result);
      else pending.reject(new Error(`the type checker failed: ${response.error}`));
    });
    this.worker.on("error", (error) => this.log(`checker crashed: ${error.stack ?? error.message}`));
    this.worker.on("exit", (code) => {
      if (this.closing) return;
      const failure = new Error(`the type checker stopped (exit code ${code}); it was restarted, so declarations of earlier cells are unknown to it until they run again`);
      for (const pending of this.pending.values()) pending.reject(failure);
      this.pending.clear();
      port1.close();
      this.spawn();
    });
    this.worker.unref();
  }
}
