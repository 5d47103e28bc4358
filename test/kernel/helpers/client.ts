/**
 * A small Jupyter client for end-to-end tests: starts the real kernel process with a fresh
 * connection file and talks to it over real ZeroMQ sockets (DEALER for shell/control/stdin,
 * SUB for iopub, REQ for heartbeat), signing with HMAC-SHA256.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zmq from "zeromq";
import { kernelSpec } from "../../../kernel/install.js";
import { decode, encode, Signer } from "../../../kernel/wire/codec.js";
import type { Message } from "../../../kernel/protocol/messages.js";

/** The command line the kernelspec gives Jupyter (`cluelab kernel --connection-file FILE`). */
export function kernelArgv(connectionFile: string): string[] {
  return kernelSpec().argv.map((arg) => (arg === "{connection_file}" ? connectionFile : arg));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export interface ExecuteResult {
  reply: Message;
  /** iopub messages of the request between busy and idle (busy/idle excluded). */
  outputs: Message[];
  /** Everything on iopub for the request, in order, status included. */
  iopub: Message[];
}

export class TestKernel {
  readonly stderr: string[] = [];
  /** Every input_request the kernel sent on stdin. */
  readonly inputRequests: Message[] = [];
  private readonly iopubQueue: Message[] = [];
  private readonly shellReplies = new Map<string, (m: Message) => void>();
  private readonly waiters: Array<() => void> = [];
  private stdinHandler: ((m: Message) => void) | undefined;

  private constructor(
    readonly process: ChildProcess,
    readonly directory: string,
    readonly connection: Record<string, unknown>,
    private readonly signer: Signer,
    private readonly sockets: { shell: zmq.Dealer; control: zmq.Dealer; stdin: zmq.Dealer; iopub: zmq.Subscriber },
    readonly session: string,
  ) {}

  /**
   * Starts a kernel whose working directory (the "notebook folder") is `directory`. `argv`
   * builds the command line from the connection file (default: this repository's kernel).
   */
  static async start(
    options: {
      directory?: string;
      env?: Record<string, string | undefined>;
      key?: string;
      argv?: (connectionFile: string) => string[];
      /** Called with the milliseconds from spawning to the first kernel_info reply. */
      onReady?: (ms: number) => void;
    } = {},
  ): Promise<TestKernel> {
    const directory = options.directory ?? mkdtempSync(join(tmpdir(), "cluelab-nb-"));
    const key = options.key ?? randomBytes(16).toString("hex");
    const ports = { shell_port: await freePort(), control_port: await freePort(), iopub_port: await freePort(), stdin_port: await freePort(), hb_port: await freePort() };
    const connection = { transport: "tcp", ip: "127.0.0.1", key, signature_scheme: "hmac-sha256", ...ports };
    const file = join(mkdtempSync(join(tmpdir(), "cluelab-conn-")), "kernel.json");
    writeFileSync(file, JSON.stringify(connection));
    const argv = options.argv?.(file) ?? kernelArgv(file);
    const spawnedAt = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: directory,
      env: { ...process.env, JUPYTER_DATA_DIR: join(directory, ".jupyter-data"), ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const identity = `test-${randomUUID()}`;
    const endpoint = (port: number) => `tcp://127.0.0.1:${port}`;
    const sockets = {
      shell: new zmq.Dealer({ routingId: identity, linger: 0, reconnectInterval: 10 }),
      control: new zmq.Dealer({ routingId: identity + "-c", linger: 0, reconnectInterval: 10 }),
      stdin: new zmq.Dealer({ routingId: identity, linger: 0, reconnectInterval: 10 }),
      iopub: new zmq.Subscriber({ linger: 0, reconnectInterval: 10 }),
    };
    sockets.shell.connect(endpoint(ports.shell_port));
    sockets.control.connect(endpoint(ports.control_port));
    sockets.stdin.connect(endpoint(ports.stdin_port));
    sockets.iopub.connect(endpoint(ports.iopub_port));
    sockets.iopub.subscribe();
    const kernel = new TestKernel(child, directory, connection, new Signer("hmac-sha256", key), sockets, randomUUID());
    child.stderr!.on("data", (d: Buffer) => kernel.stderr.push(d.toString()));
    child.stdout!.on("data", (d: Buffer) => kernel.stderr.push(d.toString()));
    void kernel.pump(sockets.shell, (m) => kernel.shellReplies.get(m.parent_header.msg_id as string)?.(m));
    void kernel.pump(sockets.control, (m) => kernel.shellReplies.get(m.parent_header.msg_id as string)?.(m));
    void kernel.pump(sockets.stdin, (m) => {
      if (m.header.msg_type === "input_request") kernel.inputRequests.push(m);
      kernel.stdinHandler?.(m);
    });
    void kernel.pump(sockets.iopub, (m) => {
      kernel.iopubQueue.push(m);
      for (const wake of kernel.waiters.splice(0)) wake();
    });
    // Wait until the kernel answers kernel_info and iopub delivers its status messages.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const reply = await kernel.request("shell", "kernel_info_request", {}, 5000).catch(() => undefined);
      if (reply) {
        options.onReady?.(performance.now() - spawnedAt);
        await kernel.collect(reply.parent_header.msg_id as string, 500).catch(() => undefined);
        return kernel;
      }
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`kernel did not start:\n${kernel.stderr.join("")}`);
    }
  }

  private async pump(socket: zmq.Dealer | zmq.Subscriber, handle: (m: Message) => void): Promise<void> {
    try {
      for await (const frames of socket) {
        const decoded = decode(frames, this.signer);
        if (decoded.ok) handle(decoded.message);
      }
    } catch {
      // socket closed
    }
  }

  /** Builds a signed message (for tests that send raw frames). */
  message(type: string, content: Record<string, unknown>): Message {
    return {
      identities: [],
      header: { msg_id: randomUUID(), session: this.session, username: "test", date: new Date().toISOString(), msg_type: type, version: "5.3" },
      parent_header: {},
      metadata: {},
      content,
      buffers: [],
    };
  }

  /** Sends raw frames on a socket (for malformed-input tests). */
  async sendFrames(channel: "shell" | "control", frames: Buffer[]): Promise<void> {
    await this.sockets[channel].send(frames);
  }

  send(channel: "shell" | "control" | "stdin", type: string, content: Record<string, unknown>): string {
    const message = this.message(type, content);
    void this.sockets[channel].send(encode(message, this.signer));
    return message.header.msg_id;
  }

  request(channel: "shell" | "control", type: string, content: Record<string, unknown>, timeoutMs = 60_000): Promise<Message> {
    const message = this.message(type, content);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.shellReplies.delete(message.header.msg_id);
        reject(new Error(`no reply to ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      // The open sockets keep the process alive while the kernel runs; a request a kernel took
      // with it when it exited must not hold the test file open until its deadline.
      timer.unref();
      this.shellReplies.set(message.header.msg_id, (reply) => {
        clearTimeout(timer);
        this.shellReplies.delete(message.header.msg_id);
        resolve(reply);
      });
      void this.sockets[channel].send(encode(message, this.signer));
    });
  }

  /** Waits for the idle of `msgId` and returns its iopub messages (busy … idle). */
  collect(msgId: string, timeoutMs = 60_000): Promise<Message[]> {
    return this.takeWhen(
      msgId,
      (mine) => mine.some((m) => m.header.msg_type === "status" && m.content.execution_state === "idle"),
      timeoutMs,
      () => `no idle for ${msgId} within ${timeoutMs} ms`,
    );
  }

  /** Waits until some request's stdout shows `text` (without consuming it). */
  async waitForStdout(text: string, timeoutMs = 30_000): Promise<void> {
    await this.waitUntil(
      () => this.iopubQueue.some((m) => m.header.msg_type === "stream" && String(m.content.text).includes(text)) || undefined,
      timeoutMs,
      () => `stdout never showed ${JSON.stringify(text)}`,
    );
  }

  /** Waits for `count` messages of request `msgId` after its idle (late output), and takes them. */
  takeLate(msgId: string, count: number, timeoutMs = 30_000): Promise<Message[]> {
    return this.takeWhen(msgId, (mine) => mine.length >= count, timeoutMs, () => `${this.mine(msgId).length} of ${count} late messages for ${msgId}`);
  }

  private mine(msgId: string): Message[] {
    return this.iopubQueue.filter((m) => m.parent_header.msg_id === msgId);
  }

  /** Waits until the queued messages of `msgId` satisfy `ready`, then takes them out of the queue. */
  private takeWhen(msgId: string, ready: (mine: Message[]) => boolean, timeoutMs: number, failure: () => string): Promise<Message[]> {
    return this.waitUntil(
      () => {
        const mine = this.mine(msgId);
        if (!ready(mine)) return undefined;
        for (const m of mine) this.iopubQueue.splice(this.iopubQueue.indexOf(m), 1);
        return mine;
      },
      timeoutMs,
      failure,
    );
  }

  /** Re-runs `check` whenever a message arrives until it returns a value, or fails after `timeoutMs`. */
  private async waitUntil<T>(check: () => T | undefined, timeoutMs: number, failure: () => string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = check();
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${failure()}; stderr:\n${this.stderr.join("")}`);
      await new Promise<void>((resolve) => {
        // Unreferenced: a wait must not hold the test file open once the kernel is gone.
        const timer = setTimeout(resolve, left);
        timer.unref();
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** iopub messages that arrived after their request's idle and no test took; `starting` has no request. */
  lateMessages(): Message[] {
    return this.iopubQueue.filter((m) => m.parent_header.msg_id !== undefined);
  }

  async execute(code: string, content: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<ExecuteResult> {
    const message = this.message("execute_request", { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true, ...content });
    const replied = new Promise<Message>((resolve) => this.shellReplies.set(message.header.msg_id, resolve));
    await this.sockets.shell.send(encode(message, this.signer));
    const iopub = await this.collect(message.header.msg_id, timeoutMs);
    const reply = await Promise.race([replied, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no execute_reply")), 5000))]);
    this.shellReplies.delete(message.header.msg_id);
    const outputs = iopub.filter((m) => m.header.msg_type !== "status");
    return { reply, outputs, iopub };
  }

  /** {@link execute}, asserting the reply's status is "ok" (the message names the cell and the reply). */
  async executeOk(code: string, content: Record<string, unknown> = {}): Promise<ExecuteResult> {
    const r = await this.execute(code, content);
    assert.equal(r.reply.content.status, "ok", `${code}\n→ ${JSON.stringify(r.reply.content)}`);
    return r;
  }

  /** Answers the next input_request with `value`. */
  onInput(answer: (prompt: string) => string): void {
    this.stdinHandler = (m) => {
      if (m.header.msg_type !== "input_request") return;
      const reply = this.message("input_reply", { value: answer(String(m.content.prompt)) });
      reply.parent_header = m.header;
      void this.sockets.stdin.send(encode(reply, this.signer));
    };
  }

  async shutdown(): Promise<void> {
    const exited = new Promise((resolve) => this.process.once("exit", resolve));
    if (this.process.exitCode === null) {
      await this.request("control", "shutdown_request", { restart: false }, 10_000).catch(() => undefined);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (this.process.exitCode === null) this.process.kill("SIGKILL");
    }
    for (const socket of Object.values(this.sockets)) socket.close();
  }
}

/** The text of every stream output, concatenated per stream name. */
export function streams(outputs: Message[]): { stdout: string; stderr: string } {
  const text = { stdout: "", stderr: "" };
  for (const m of outputs) if (m.header.msg_type === "stream") text[m.content.name as "stdout" | "stderr"] += String(m.content.text);
  return text;
}

export function ofType(outputs: Message[], type: string): Message[] {
  return outputs.filter((m) => m.header.msg_type === type);
}

/** The text/plain of the first execute_result, if any. */
export function resultText(outputs: Message[]): unknown {
  return (ofType(outputs, "execute_result")[0]?.content.data as Record<string, unknown> | undefined)?.["text/plain"];
}
