/**
 * The protocol core: a dispatch table from message type to handler, the busy/idle bracket,
 * the execution counter, abort-on-error and the ordering rules. It knows neither sockets nor
 * TypeScript: a {@link Transport} carries messages and an {@link Interpreter} runs code, so the
 * core is tested with fakes of both.
 *
 * Ordering (what clients rely on): for every request, iopub `status: busy` first; then
 * `execute_input`, every output, the `execute_result` or `error`; then the reply; then
 * `status: idle`.
 *
 * Late output — produced when its cell has finished (a timer's `console.log`, a display
 * updated from a callback, an error thrown asynchronously) — is published at once, as ipykernel
 * does: with the execution running now as parent, or else with the last execution's. JupyterLab
 * keeps listening to a cell's messages until it runs again, and the classic notebook to the last
 * execution's, so it shows under that cell while it happens. Batch clients (nbclient) stop
 * listening at a cell's idle and would lose it; for an asynchronous error that must not happen,
 * so the next execution also starts with a short note naming it, and a note no execution took
 * is written to the kernel's log at shutdown.
 */
import { randomUUID } from "node:crypto";
import {
  PROTOCOL_VERSION,
  type Channel,
  type CommMsg,
  type CommOpen,
  type CompleteReply,
  type CompleteRequest,
  type ErrorContent,
  type ExecuteRequest,
  type Header,
  type HistoryRequest,
  type InspectReply,
  type InspectRequest,
  type IsCompleteReply,
  type IsCompleteRequest,
  type JsonObject,
  type Message,
  type MimeData,
  type ShutdownRequest,
} from "./messages.js";

/** Carries messages to clients. */
export interface Transport {
  send(channel: Channel, message: Message): void;
}

/** One output of a request, as the interpreter hands it to the core. */
export interface Output {
  msg_type: string;
  content: JsonObject;
  metadata?: JsonObject;
  buffers?: Uint8Array[];
}

/** What the interpreter may do while it serves one request. */
export interface RequestContext {
  /** Publishes an output on iopub with this request as parent (late output once the request is done). */
  publish(output: Output): void;
  /** Asks the frontend for a line of input over stdin; rejects when the request does not allow stdin. */
  input(prompt: string, password: boolean): Promise<string>;
}

export interface ExecuteContext extends RequestContext {
  readonly executionCount: number;
  readonly allowStdin: boolean;
  readonly silent: boolean;
}

export type ExecuteOutcome =
  | { status: "ok"; result?: { data: MimeData; metadata: JsonObject }; userExpressions?: JsonObject }
  | { status: "error"; error: ErrorContent; userExpressions?: JsonObject };

/** The language side of the kernel (xeus calls it the interpreter). */
export interface Interpreter {
  execute(request: ExecuteRequest, context: ExecuteContext): Promise<ExecuteOutcome>;
  /** `cursorPos` in Unicode code points, as the protocol counts. */
  complete(code: string, cursorPos: number): Promise<CompleteReply>;
  inspect(code: string, cursorPos: number, detailLevel: 0 | 1): Promise<InspectReply>;
  isComplete(code: string): Promise<IsCompleteReply>;
  /** Starts stopping the running cell; returns without waiting for it to stop. */
  interrupt(): void;
  /** A comm message from the frontend; resolves once the comm's handlers ran. */
  comm(kind: "comm_open" | "comm_msg" | "comm_close", content: JsonObject, buffers: Uint8Array[], context: RequestContext): Promise<void>;
  /** Open comms, by id, optionally only those of one target. */
  commInfo(targetName?: string): Record<string, { target_name: string }>;
  shutdown(restart: boolean): Promise<void>;
}

/** Where executed code is remembered (across kernel restarts). */
export interface History {
  /** The session number of this kernel run. */
  readonly session: number;
  append(line: number, input: string, output: string | null): void;
  query(request: HistoryRequest): Array<[number, number, string | [string, string | null]]>;
}

export interface CoreOptions {
  transport: Transport;
  interpreter: Interpreter;
  history: History;
  /** The `kernel_info_reply` content, without `status` and `protocol_version`. */
  kernelInfo: JsonObject;
  log: (line: string) => void;
}

/** Most notes of asynchronous errors kept for the next execution; later ones are counted. */
const MAX_NOTES = 20;

type Handler = (request: Message, channel: Channel) => Promise<void>;

interface PendingInput {
  resolve(value: string): void;
  reject(error: Error): void;
}

export class KernelCore {
  /** The session id of the kernel's own messages. */
  readonly session = randomUUID();
  private executionCount = 0;
  private readonly shellQueue: Array<{ message: Message; channel: Channel }> = [];
  private shellBusy = false;
  /** The execute request running now (not silent), and the last one that ran. */
  private executing: Message | undefined;
  private lastExecution: Message | undefined;
  /** Notes of asynchronous errors for the start of the next execution (see the module comment). */
  private readonly notes: string[] = [];
  private droppedNotes = 0;
  private pendingInput: PendingInput | undefined;
  private shuttingDown: { restart: boolean } | undefined;
  private readonly handlers: Record<string, Handler>;

  constructor(private readonly options: CoreOptions) {
    this.handlers = {
      kernel_info_request: (m, c) => this.kernelInfo(m, c),
      execute_request: (m, c) => this.execute(m, c),
      complete_request: (m, c) => this.complete(m, c),
      inspect_request: (m, c) => this.inspect(m, c),
      is_complete_request: (m, c) => this.isComplete(m, c),
      history_request: (m, c) => this.history(m, c),
      comm_info_request: (m, c) => this.commInfo(m, c),
      comm_open: (m) => this.comm("comm_open", m),
      comm_msg: (m) => this.comm("comm_msg", m),
      comm_close: (m) => this.comm("comm_close", m),
      interrupt_request: (m, c) => this.interrupt(m, c),
      shutdown_request: (m, c) => this.shutdown(m, c),
    };
  }

  /** Publishes the kernel's `starting` status (no parent), as ipykernel does. */
  start(): void {
    this.publishStatus("starting", undefined);
  }

  /** Entry point for every decoded message from a client. */
  receive(channel: Channel, message: Message): void {
    const type = message.header.msg_type;
    if (channel === "stdin") {
      if (type === "input_reply") this.inputReply(message);
      else this.options.log(`ignored ${type} on stdin`);
      return;
    }
    if (channel === "iopub") return;
    if (!Object.hasOwn(this.handlers, type)) {
      this.options.log(`unknown message type ${type} on ${channel}: ignored`);
      return;
    }
    if (channel === "control" || type === "interrupt_request") {
      if (type === "execute_request" || type.startsWith("comm_")) {
        // Code and comms run in order on shell; on control they would overtake it.
        this.options.log(`${type} is not served on control: ignored`);
        return;
      }
      void this.handle(message, channel);
    } else {
      this.shellQueue.push({ message, channel });
      void this.pumpShell();
    }
  }

  /**
   * An output produced when its request (if any) has ended: published at once, with the
   * execution running now as parent, else with the last execution's. `note` marks an error
   * thrown asynchronously: unless an execution is running (and so records it), the next one
   * starts with that note.
   */
  late(output: Output, note?: string): void {
    const parent = this.executing ?? this.lastExecution;
    this.publish(parent, output);
    if (note === undefined || this.executing) return;
    if (this.notes.length < MAX_NOTES) this.notes.push(note);
    else this.droppedNotes++;
  }

  /** Notes no execution took (written to the kernel's log at shutdown). */
  pendingNotes(): string[] {
    return this.droppedNotes > 0 ? [...this.notes, `(and ${this.droppedNotes} more)`] : [...this.notes];
  }

  /** Rejects a pending `input()` (the cell was interrupted). */
  cancelInput(reason: string): void {
    const pending = this.pendingInput;
    this.pendingInput = undefined;
    pending?.reject(new Error(reason));
  }

  private async pumpShell(): Promise<void> {
    if (this.shellBusy) return;
    this.shellBusy = true;
    try {
      while (this.shellQueue.length > 0) {
        const { message, channel } = this.shellQueue.shift()!;
        await this.handle(message, channel);
      }
    } finally {
      this.shellBusy = false;
    }
  }

  private async handle(message: Message, channel: Channel): Promise<void> {
    this.publishStatus("busy", message.header);
    try {
      await this.handlers[message.header.msg_type]!(message, channel);
    } catch (error) {
      this.options.log(`${message.header.msg_type} failed: ${(error as Error).stack ?? String(error)}`);
      const type = message.header.msg_type;
      if (type.endsWith("_request")) {
        this.reply(message, channel, {
          status: "error",
          ename: "KernelError",
          evalue: (error as Error).message ?? String(error),
          traceback: [],
        });
      }
    } finally {
      this.publishStatus("idle", message.header);
    }
    if (this.shuttingDown) await this.options.interpreter.shutdown(this.shuttingDown.restart);
  }

  // ---- handlers -------------------------------------------------------------------------

  private async kernelInfo(request: Message, channel: Channel): Promise<void> {
    this.reply(request, channel, { status: "ok", protocol_version: PROTOCOL_VERSION, ...this.options.kernelInfo });
  }

  private async execute(request: Message, channel: Channel): Promise<void> {
    const content = request.content as Partial<ExecuteRequest>;
    const code = typeof content.code === "string" ? content.code : "";
    const silent = content.silent === true;
    const storeHistory = !silent && content.store_history !== false;
    const stopOnError = content.stop_on_error !== false;
    if (storeHistory) this.executionCount++;
    const executionCount = this.executionCount;
    let done = false;
    const context: ExecuteContext = {
      executionCount,
      silent,
      allowStdin: content.allow_stdin === true,
      publish: (output) => {
        if (done) this.late(output);
        // A silent execution publishes nothing (comm messages are protocol state, not output).
        else if (!silent || output.msg_type.startsWith("comm_")) this.publish(request, output);
      },
      input: (prompt, password) => this.input(request, content.allow_stdin === true, prompt, password),
    };
    if (!silent) {
      this.publish(request, { msg_type: "execute_input", content: { code, execution_count: executionCount } });
      this.executing = this.lastExecution = request;
      this.releaseNotes(request);
    }

    let outcome: ExecuteOutcome;
    try {
      outcome = await this.options.interpreter.execute(
        { code, silent, store_history: storeHistory, allow_stdin: context.allowStdin, stop_on_error: stopOnError, user_expressions: content.user_expressions ?? {} },
        context,
      );
    } catch (error) {
      outcome = { status: "error", error: { ename: "KernelError", evalue: (error as Error).message, traceback: [(error as Error).stack ?? ""] } };
    }
    done = true;
    if (this.executing === request) this.executing = undefined;
    const userExpressions = outcome.userExpressions ?? {};
    if (outcome.status === "ok") {
      if (outcome.result && !silent) {
        this.publish(request, {
          msg_type: "execute_result",
          content: { execution_count: executionCount, data: outcome.result.data, metadata: outcome.result.metadata, transient: {} },
        });
      }
      this.reply(request, channel, { status: "ok", execution_count: executionCount, payload: [], user_expressions: userExpressions });
    } else {
      if (!silent) this.publish(request, { msg_type: "error", content: { ...outcome.error } });
      this.reply(request, channel, { status: "error", execution_count: executionCount, ...outcome.error, user_expressions: userExpressions }, { status: "error" });
      if (stopOnError) this.abortQueuedExecutions();
    }
    if (storeHistory) {
      const output = outcome.status === "ok" ? (outcome.result?.data["text/plain"] ?? null) : null;
      try {
        this.options.history.append(executionCount, code, output);
      } catch (error) {
        this.options.log(`history: ${(error as Error).message}`);
      }
    }
  }

  /** After an error with stop_on_error, execute requests already queued are not run. */
  private abortQueuedExecutions(): void {
    for (let i = 0; i < this.shellQueue.length; ) {
      const { message, channel } = this.shellQueue[i]!;
      if (message.header.msg_type !== "execute_request") {
        i++;
        continue;
      }
      this.shellQueue.splice(i, 1);
      this.publishStatus("busy", message.header);
      this.reply(message, channel, { status: "aborted", execution_count: this.executionCount }, { status: "aborted" });
      this.publishStatus("idle", message.header);
    }
  }

  private async complete(request: Message, channel: Channel): Promise<void> {
    const content = request.content as Partial<CompleteRequest>;
    const code = typeof content.code === "string" ? content.code : "";
    const cursor = clampCursor(content.cursor_pos, code);
    const result = await this.options.interpreter.complete(code, cursor);
    this.reply(request, channel, { status: "ok", ...result });
  }

  private async inspect(request: Message, channel: Channel): Promise<void> {
    const content = request.content as Partial<InspectRequest>;
    const code = typeof content.code === "string" ? content.code : "";
    const result = await this.options.interpreter.inspect(code, clampCursor(content.cursor_pos, code), content.detail_level === 1 ? 1 : 0);
    this.reply(request, channel, { status: "ok", ...result });
  }

  private async isComplete(request: Message, channel: Channel): Promise<void> {
    const content = request.content as Partial<IsCompleteRequest>;
    const result = await this.options.interpreter.isComplete(typeof content.code === "string" ? content.code : "");
    this.reply(request, channel, { ...result });
  }

  private async history(request: Message, channel: Channel): Promise<void> {
    const history = this.options.history.query(request.content as unknown as HistoryRequest);
    this.reply(request, channel, { status: "ok", history });
  }

  private async commInfo(request: Message, channel: Channel): Promise<void> {
    const target = (request.content as { target_name?: unknown }).target_name;
    const comms = this.options.interpreter.commInfo(typeof target === "string" ? target : undefined);
    this.reply(request, channel, { status: "ok", comms });
  }

  private async comm(kind: "comm_open" | "comm_msg" | "comm_close", request: Message): Promise<void> {
    const content = request.content as Partial<CommOpen & CommMsg>;
    if (typeof content.comm_id !== "string") {
      this.options.log(`${kind} without a comm_id: ignored`);
      return;
    }
    let done = false;
    const context: RequestContext = {
      publish: (output) => (done ? this.late(output) : this.publish(request, output)),
      input: () => Promise.reject(new Error("comm handlers cannot ask for input")),
    };
    try {
      await this.options.interpreter.comm(kind, request.content, request.buffers, context);
    } finally {
      done = true;
    }
  }

  private async interrupt(request: Message, channel: Channel): Promise<void> {
    this.options.interpreter.interrupt();
    this.reply(request, channel, { status: "ok" });
  }

  private async shutdown(request: Message, channel: Channel): Promise<void> {
    const restart = (request.content as Partial<ShutdownRequest>).restart === true;
    this.reply(request, channel, { status: "ok", restart });
    this.publish(request, { msg_type: "shutdown_reply", content: { status: "ok", restart } });
    // The interpreter stops the process once this request's idle is out (see handle()).
    this.shuttingDown = { restart };
  }

  // ---- stdin ----------------------------------------------------------------------------

  private input(request: Message, allowed: boolean, prompt: string, password: boolean): Promise<string> {
    if (!allowed) {
      return Promise.reject(new Error("this frontend does not accept input (allow_stdin is false for this request)"));
    }
    this.cancelInput("a new input request replaced this one");
    return new Promise<string>((resolve, reject) => {
      this.pendingInput = { resolve, reject };
      this.options.transport.send("stdin", this.message(request.identities, "input_request", request.header, { prompt, password }));
    });
  }

  private inputReply(message: Message): void {
    const pending = this.pendingInput;
    if (!pending) {
      this.options.log("input_reply without a pending input_request: ignored");
      return;
    }
    this.pendingInput = undefined;
    const value = (message.content as { value?: unknown }).value;
    pending.resolve(typeof value === "string" ? value : "");
  }

  // ---- sending --------------------------------------------------------------------------

  private releaseNotes(request: Message): void {
    if (this.notes.length === 0) return;
    const more = this.droppedNotes > 0 ? `(and ${this.droppedNotes} more errors thrown asynchronously)\n` : "";
    const text = this.notes.splice(0).join("") + more;
    this.droppedNotes = 0;
    this.publish(request, { msg_type: "stream", content: { name: "stderr", text } });
  }

  /** An output on iopub; `request` undefined for output before any execution (a comm callback at start-up): no parent to give it. */
  private publish(request: Message | undefined, output: Output): void {
    const topic = Buffer.from(`kernel.${this.session}.${output.msg_type}`);
    this.options.transport.send(
      "iopub",
      this.message([topic], output.msg_type, request?.header, output.content, output.metadata, output.buffers),
    );
  }

  private publishStatus(state: "starting" | "busy" | "idle", parent: Header | undefined): void {
    this.options.transport.send(
      "iopub",
      this.message([Buffer.from(`kernel.${this.session}.status`)], "status", parent, { execution_state: state }),
    );
  }

  private reply(request: Message, channel: Channel, content: JsonObject, metadata: JsonObject = { status: "ok" }): void {
    const type = request.header.msg_type.replace(/_request$/, "_reply");
    this.options.transport.send(channel, this.message(request.identities, type, request.header, content, metadata));
  }

  private message(
    identities: Buffer[],
    msgType: string,
    parent: Header | undefined,
    content: JsonObject,
    metadata: JsonObject = {},
    buffers: Uint8Array[] = [],
  ): Message {
    return {
      identities,
      header: {
        msg_id: randomUUID(),
        session: this.session,
        username: "kernel",
        date: new Date().toISOString(),
        msg_type: msgType,
        version: PROTOCOL_VERSION,
      },
      parent_header: parent ?? {},
      metadata,
      content,
      buffers,
    };
  }
}

/** A cursor position from a client, clamped into the code (code points; missing means the end). */
function clampCursor(cursor: unknown, code: string): number {
  const length = [...code].length;
  if (typeof cursor !== "number" || !Number.isFinite(cursor)) return length;
  return Math.max(0, Math.min(length, Math.floor(cursor)));
}
