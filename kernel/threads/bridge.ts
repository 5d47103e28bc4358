/**
 * The interpreter the protocol core talks to, in the protocol worker: compiles cells on the
 * checker worker, runs them on the main thread, routes the main thread's outputs to the request
 * they belong to, and stops cells on interrupt.
 *
 * Interrupt order: the cell's AbortSignal is aborted first (marked in shared memory, which the
 * signal reads even while the cell keeps the main thread busy, and by a message the main thread
 * handles when it yields), so a loop that checks it stops with its state intact; the main thread
 * abandons a cell stuck on a promise after the grace period. Only when the main thread does not answer within the grace period — it is
 * running JavaScript without yielding — the worker terminates that execution through the
 * inspector (stop-main.ts), which unwinds the user's code and leaves every variable and the event
 * loop intact.
 */
import type { ExecuteContext, ExecuteOutcome, Interpreter, KernelCore, Output, RequestContext } from "../protocol/core.js";
import type { CompleteReply, ExecuteRequest, InspectReply, IsCompleteReply, JsonObject } from "../protocol/messages.js";
import { markInterrupted } from "../runtime/abort.js";
import { answerPrompt } from "../runtime/prompt.js";
import { mainThreadStopper } from "./stop-main.js";
import type { Requester } from "./worker-client.js";
import { InputState, type FromMain, type ToMain } from "./messages.js";

type Done = Extract<FromMain, { type: "done" | "comm-done" }>;

interface Active {
  origin: number;
  context: RequestContext;
  done(message: Done): void;
}

export interface BridgeOptions {
  main: { postMessage(message: ToMain): void };
  checker: Requester;
  inputBuffer: SharedArrayBuffer;
  /** Where an interrupt is marked for the running cell's AbortSignal to see at once (runtime/abort.ts). */
  interruptBuffer: SharedArrayBuffer;
  graceMs: number;
  log(line: string): void;
  debug(line: string): void;
  /** Stops the process once the shutdown reply is out. */
  exit(restart: boolean): Promise<void>;
  /** Hard-stops JavaScript running on the main thread (defaults to the inspector). */
  terminateMain?: () => void;
}

/** The longest a shutdown waits for JavaScript spinning on the main thread before stopping it. */
const SHUTDOWN_GRACE_MS = 1000;

export class ThreadBridge implements Interpreter {
  core: Pick<KernelCore, "late" | "cancelInput"> | undefined;
  private nextOrigin = 1;
  private active: Active | undefined;
  /** Set while a cell is being type-checked; an interrupt then cancels it before it runs. */
  private compiling: { interrupted: boolean } | undefined;
  private readonly comms = new Map<string, string>();
  /** True once the main thread answered since the last ping. */
  private mainAnswered = true;
  private watchdog: NodeJS.Timeout | undefined;
  /** The last prompt() handed to the frontend; answered once. */
  private asked: { answered: boolean } | undefined;
  private readonly terminateMain: () => void;

  constructor(private readonly options: BridgeOptions) {
    this.terminateMain = options.terminateMain ?? mainThreadStopper(options.log);
  }

  /** Every message from the main thread comes here. */
  fromMain(message: FromMain): void {
    switch (message.type) {
      case "output":
        this.observeComm(message.output);
        if (this.active && message.origin === this.active.origin) this.active.context.publish(message.output);
        else this.core?.late(message.output, message.note);
        return;
      case "done":
      case "comm-done":
        if (this.active?.origin === message.origin) this.active.done(message);
        return;
      case "input":
        return this.input(message.origin, message.prompt, message.password);
      case "pong":
        this.mainAnswered = true;
        return;
      case "sigint":
        this.options.debug("SIGINT (main thread): interrupting");
        return this.interrupt();
    }
  }

  async execute(request: ExecuteRequest, context: ExecuteContext): Promise<ExecuteOutcome> {
    const started = performance.now();
    const compiling = (this.compiling = { interrupted: false });
    const compiled = await this.options.checker.request("compile", { code: request.code, executionCount: context.executionCount }).finally(() => (this.compiling = undefined));
    if (!compiled.ok) return { status: "error", error: compiled.error };
    if (compiling.interrupted) {
      this.settle(compiled.cell, false, []);
      const evalue = "the cell was interrupted before it ran";
      return { status: "error", error: { ename: "Interrupted", evalue, traceback: [`Interrupted: ${evalue}`] } };
    }
    for (const warning of compiled.warnings) context.publish({ msg_type: "stream", content: { name: "stderr", text: warning } });
    const checked = performance.now();
    const done = await this.toMain(context, (origin) => ({
      type: "run",
      origin,
      cell: compiled.cell,
      executionCount: context.executionCount,
      js: compiled.js,
      sourceMap: compiled.sourceMap,
      allowStdin: context.allowStdin,
      userExpressions: request.user_expressions ?? {},
    }));
    this.options.debug(`cell ${compiled.cell}: checked and compiled in ${(checked - started).toFixed(1)} ms, ran in ${(performance.now() - checked).toFixed(1)} ms`);
    const outcome = done.type === "done" ? done.outcome : undefined;
    const bindings = done.type === "done" ? done.bindings : undefined;
    // A cell that failed may have left some of its names unbound: the checker must agree.
    if (outcome?.status !== "ok") this.settle(compiled.cell, bindings?.ran ?? false, bindings?.bound ?? []);
    return outcome ?? { status: "error", error: { ename: "KernelError", evalue: "the cell ended without an outcome", traceback: [] } };
  }

  /** Tells the checker what a failed cell bound (before any later request reaches it: one port, in order). */
  private settle(cell: number, ran: boolean, bound: string[]): void {
    this.options.checker.request("settle", { cell, ran, bound }).catch((error: Error) => this.options.log(`settling cell ${cell}: ${error.message}`));
  }

  complete(code: string, cursor: number): Promise<CompleteReply> {
    return this.options.checker.request("complete", { code, cursor });
  }

  inspect(code: string, cursor: number, detailLevel: 0 | 1): Promise<InspectReply> {
    return this.options.checker.request("inspect", { code, cursor, detailLevel });
  }

  isComplete(code: string): Promise<IsCompleteReply> {
    return this.options.checker.request("isComplete", { code });
  }

  async comm(kind: "comm_open" | "comm_msg" | "comm_close", content: JsonObject, buffers: Uint8Array[], context: RequestContext): Promise<void> {
    if (kind === "comm_open") this.comms.set(String(content.comm_id), String(content.target_name));
    if (kind === "comm_close") this.comms.delete(String(content.comm_id));
    await this.toMain(context, (origin) => ({ type: "comm", origin, kind, content, buffers }));
  }

  commInfo(targetName?: string): Record<string, { target_name: string }> {
    const comms: Record<string, { target_name: string }> = {};
    for (const [id, target] of this.comms) if (targetName === undefined || target === targetName) comms[id] = { target_name: target };
    return comms;
  }

  interrupt(): void {
    if (this.compiling) this.compiling.interrupted = true;
    const active = this.active;
    if (active) markInterrupted(this.options.interruptBuffer, active.origin);
    this.options.main.postMessage({ type: "interrupt", origin: active?.origin ?? null });
    if (active) {
      // A prompt() waiting for the frontend gives up at once, with the interrupt's answer only (the
      // cancelled request's rejection, a microtask later, would overwrite it while the cell reads it).
      if (this.asked) this.asked.answered = true;
      this.core?.cancelInput("interrupted");
      answerPrompt(this.options.inputBuffer, InputState.Interrupted, "Interrupted while waiting for input");
    }
    this.watchMain(active, this.options.graceMs);
  }

  async shutdown(restart: boolean): Promise<void> {
    this.options.main.postMessage({ type: "shutdown" });
    // JavaScript spinning there (a cell, or a callback after its cell) would keep the main thread
    // from ever reading the exit: stopped after a grace period, as an interrupt would, but at most
    // a second, as jupyter_client kills a kernel that has not exited 5 s after shutdown_request.
    this.watchMain(undefined, Math.min(this.options.graceMs, SHUTDOWN_GRACE_MS));
    await this.options.exit(restart);
  }

  /**
   * After an interrupt: while `active` (or, without one, until the main thread answers) runs,
   * checks every grace period that the main thread answered the last ping, and terminates the
   * JavaScript running there when it did not — a cell that ignores its AbortSignal, or a timer
   * callback spinning after its cell, which would otherwise hold the kernel for good.
   */
  private watchMain(active: Active | undefined, graceMs: number): void {
    this.mainAnswered = false;
    clearTimeout(this.watchdog);
    const check = () => {
      if (active && this.active !== active) return;
      if (!this.mainAnswered) {
        this.options.debug(`interrupt: the main thread did not answer within ${graceMs} ms; terminating the running JavaScript`);
        this.terminateMain();
        if (active) this.options.main.postMessage({ type: "interrupted", origin: active.origin });
      } else if (!active) return;
      this.mainAnswered = false;
      this.options.main.postMessage({ type: "ping" });
      this.watchdog = setTimeout(check, graceMs);
    };
    if (!active) this.options.main.postMessage({ type: "ping" });
    this.watchdog = setTimeout(check, graceMs);
  }

  /** Hands one request to the main thread and waits until it says it is done. */
  private toMain(context: RequestContext, message: (origin: number) => ToMain): Promise<Done> {
    const origin = this.nextOrigin++;
    return new Promise((resolve) => {
      this.active = {
        origin,
        context,
        done: (done) => {
          this.active = undefined;
          clearTimeout(this.watchdog);
          resolve(done);
        },
      };
      this.options.main.postMessage(message(origin));
    });
  }

  private input(origin: number, prompt: string, password: boolean): void {
    const active = this.active;
    if (!active || active.origin !== origin) {
      answerPrompt(this.options.inputBuffer, InputState.Error, "prompt() was called after its cell finished");
      return;
    }
    const asked = { answered: false };
    this.asked = asked;
    const answer = (state: typeof InputState.Value | typeof InputState.Error, text: string) => {
      if (asked.answered) return;
      asked.answered = true;
      answerPrompt(this.options.inputBuffer, state, text);
    };
    active.context.input(prompt, password).then(
      (value) => answer(InputState.Value, value),
      (error: Error) => answer(InputState.Error, error.message),
    );
  }

  private observeComm(output: Output): void {
    const id = output.content.comm_id;
    if (typeof id !== "string") return;
    if (output.msg_type === "comm_open") this.comms.set(id, String(output.content.target_name));
    else if (output.msg_type === "comm_close") this.comms.delete(id);
  }
}
