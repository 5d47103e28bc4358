/**
 * The main thread's side of the kernel: runs compiled cells, captures their output, installs
 * the display and comm sinks and the cell's AbortSignal on `globalThis`, answers interrupts.
 *
 * It only ever runs from event-loop callbacks (messages from the protocol worker), never from
 * module top level: a hard interrupt (`Runtime.terminateExecution` from the worker) then unwinds
 * the user's code and the loop goes on with every variable intact.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CELL_ABORT_SIGNAL, isNoResult, setCommSink, setDisplaySink, type DisplayRequest, type DisplaySink } from "../../lib/display/protocol.js";
import { formatValue } from "../display/format.js";
import type { ExecuteOutcome, Output } from "../protocol/core.js";
import type { JsonObject } from "../protocol/messages.js";
import type { FromMain, ToMain } from "../threads/messages.js";
import { cellAbortSignal } from "./abort.js";
import { BOUND_FUNCTION, IMPORT_FUNCTION, IMPORT_META } from "./cell-globals.js";
import { OutputCapture } from "./capture.js";
import { CommManager } from "./comms.js";
import { ReplEvaluator, type Evaluation } from "./evaluate.js";
import { createImporter, resolveFromNotebook, type ImporterOptions } from "./importer.js";
import { createPrompt } from "./prompt.js";
import { CellMaps, cellUrl } from "./traceback.js";

export interface RuntimeOptions {
  post(message: FromMain): void;
  inputBuffer: SharedArrayBuffer;
  /** Where the protocol worker marks an interrupt (see abort.ts). */
  interruptBuffer: SharedArrayBuffer;
  /** The notebook's folder and the kernel's own modules (see importer.ts). */
  modules: ImporterOptions;
  /** How long an interrupted cell may take to stop after its AbortSignal fired. */
  graceMs: number;
  log(line: string): void;
}

interface Cell {
  origin: number;
  /** The checker's slot number (names its marks, see typescript/transform.ts). */
  slot: number;
  /** Whether its script started, and the marked names whose declarations ran. */
  ran: boolean;
  bound: string[];
  executionCount: number;
  allowStdin: boolean;
  holds: Promise<unknown>[];
  finished: boolean;
  graceTimer?: NodeJS.Timeout;
}

const INTERRUPTED = "Interrupted";

export class Runtime {
  private current: Cell | undefined;
  private readonly cells = new Map<number, Cell>();
  /** The origin outputs are attributed to now (a cell, a comm request, or none). */
  private attribution: number | null = null;
  private controller = new AbortController();
  private lastExecutionCount = 0;
  private readonly capture: OutputCapture;
  private readonly comms: CommManager;
  private readonly evaluator = new ReplEvaluator();
  private readonly maps = new CellMaps();

  constructor(private readonly options: RuntimeOptions) {
    this.capture = new OutputCapture((name, text) =>
      options.post({ type: "output", origin: this.attribution, output: { msg_type: "stream", content: { name, text } } }),
    );
    this.comms = new CommManager(
      (output) => this.output(output),
      (error) => this.reportAsync(error),
    );
  }

  /** Installs the sinks, globals, output capture and handlers for stray errors. */
  install(): void {
    const global = globalThis as Record<PropertyKey, unknown>;
    const sink: DisplaySink = {
      display: (request) => this.display(request),
      clearOutput: (options) => this.output({ msg_type: "clear_output", content: { wait: options?.wait === true } }),
      hold: (work) => this.hold(work),
    };
    setDisplaySink(sink);
    setCommSink(this.comms);
    global[CELL_ABORT_SIGNAL] = this.controller.signal;
    const { directory } = this.options.modules;
    global[Symbol.for(IMPORT_FUNCTION)] = createImporter(this.options.modules);
    global[Symbol.for(IMPORT_META)] = {
      url: pathToFileURL(join(directory, "notebook.ts")).href,
      dirname: directory,
      filename: join(directory, "notebook.ts"),
      resolve: (specifier: string) => resolveFromNotebook(specifier, this.options.modules),
    };
    global[Symbol.for(BOUND_FUNCTION)] = (slot: number, names: string[]) => {
      const cell = this.current;
      if (cell?.slot === slot && !cell.finished) {
        cell.ran = true;
        cell.bound.push(...names);
      }
      return true;
    };
    global.prompt = createPrompt(this.options.inputBuffer, (prompt) => this.ask(prompt));
    // Node's types declare these globals, so cells may use them: give them the notebook's folder.
    global.require ??= createRequire(join(directory, "notebook.cjs"));
    global.__dirname ??= directory;
    global.__filename ??= join(directory, "notebook.ts");
    process.on("uncaughtException", (error) => this.reportAsync(error));
    process.on("unhandledRejection", (reason) => this.reportAsync(reason));
    this.capture.install();
  }

  /** Handles one message from the protocol worker. */
  handle(message: ToMain): void {
    switch (message.type) {
      case "run":
        return this.run(message);
      case "interrupt":
        return this.interrupt();
      case "ping":
        return this.options.post({ type: "pong" });
      case "interrupted": {
        const cell = this.cells.get(message.origin);
        if (cell) this.finish(cell, interrupted("the cell was stopped (it did not yield within the grace period after its AbortSignal fired)"));
        return;
      }
      case "comm":
        return this.comm(message);
      case "shutdown":
        this.capture.flush();
        return;
    }
  }

  private run(message: Extract<ToMain, { type: "run" }>): void {
    const cell: Cell = { origin: message.origin, slot: message.cell, ran: false, bound: [], executionCount: message.executionCount, allowStdin: message.allowStdin, holds: [], finished: false };
    this.cells.set(cell.origin, cell);
    this.current = cell;
    this.attribution = cell.origin;
    this.lastExecutionCount = message.executionCount;
    const controller = (this.controller = new AbortController());
    (globalThis as Record<PropertyKey, unknown>)[CELL_ABORT_SIGNAL] = cellAbortSignal(controller, this.options.interruptBuffer, cell.origin, interruptReason);
    this.maps.add(message.cell, message.executionCount, message.sourceMap);
    void this.evaluator
      .evaluate(`${message.js}\n//# sourceURL=${cellUrl(message.cell)}`)
      .then((evaluation) => this.settle(cell, evaluation, message.userExpressions));
  }

  private async settle(cell: Cell, evaluation: Evaluation, userExpressions: Record<string, string>): Promise<void> {
    if (cell.finished) return;
    if (evaluation.status === "terminated") {
      this.finish(cell, interrupted("the cell was stopped"));
      return;
    }
    let outcome: ExecuteOutcome;
    try {
      const held = await this.drainHolds(cell);
      if (evaluation.status === "error") outcome = { status: "error", error: this.maps.error(evaluation.error) };
      else if (held) outcome = { status: "error", error: this.maps.error(held.reason) };
      else if (evaluation.value === undefined || isNoResult(evaluation.value)) outcome = { status: "ok" };
      else outcome = { status: "ok", result: await formatValue(evaluation.value) };
    } catch (error) {
      outcome = { status: "error", error: this.maps.error(error) };
    }
    if (Object.keys(userExpressions).length > 0) outcome.userExpressions = await this.userExpressions(userExpressions);
    this.finish(cell, outcome);
  }

  /** Waits for work held open by displays (including work added meanwhile); the first failure, if any. */
  private async drainHolds(cell: Cell): Promise<PromiseRejectedResult | undefined> {
    let failure: PromiseRejectedResult | undefined;
    while (cell.holds.length > 0 && !cell.finished) {
      const results = await Promise.allSettled(cell.holds.splice(0));
      failure ??= results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    }
    return failure;
  }

  private finish(cell: Cell, outcome: ExecuteOutcome): void {
    if (cell.finished) return;
    cell.finished = true;
    clearTimeout(cell.graceTimer);
    this.capture.flush();
    this.cells.delete(cell.origin);
    if (this.current === cell) {
      this.current = undefined;
      this.attribution = null;
    }
    this.options.post({ type: "done", origin: cell.origin, outcome, bindings: { ran: cell.ran, bound: cell.bound } });
  }

  /** Aborts the cell's signal; a cell that does not settle within the grace period is abandoned. */
  private interrupt(): void {
    this.options.post({ type: "pong" });
    this.controller.abort(interruptReason());
    const cell = this.current;
    if (cell && !cell.finished && cell.graceTimer === undefined) {
      cell.graceTimer = setTimeout(
        () => this.finish(cell, interrupted("the cell did not finish within the grace period after its AbortSignal fired; its pending work was abandoned")),
        this.options.graceMs,
      );
    }
  }

  private comm(message: Extract<ToMain, { type: "comm" }>): void {
    const previous = this.attribution;
    this.attribution = message.origin;
    try {
      this.comms.receive(message.kind, message.content, message.buffers);
    } finally {
      this.capture.flush();
      this.attribution = previous;
      this.options.post({ type: "comm-done", origin: message.origin });
    }
  }

  private display(request: DisplayRequest): void {
    const data = request.bundle as unknown as JsonObject;
    try {
      JSON.stringify(data);
    } catch (error) {
      throw new TypeError(`display: the MIME bundle cannot be sent as JSON (${(error as Error).message})`);
    }
    const metadata = (request.metadata ?? {}) as JsonObject;
    if (request.update && request.id !== undefined) {
      this.output({ msg_type: "update_display_data", content: { data, metadata, transient: { display_id: request.id } } });
    } else {
      this.output({ msg_type: "display_data", content: { data, metadata, transient: request.id !== undefined ? { display_id: request.id } : {} } });
    }
  }

  private hold(work: Promise<unknown>): void {
    if (this.current) this.current.holds.push(work);
    else work.catch((error: unknown) => this.reportAsync(error));
  }

  private output(output: Output): void {
    this.capture.flush();
    this.options.post({ type: "output", origin: this.attribution, output });
  }

  private ask(prompt: string): void {
    const cell = this.current;
    if (!cell) throw new Error("prompt() can only ask for input while a cell runs");
    if (!cell.allowStdin) {
      throw new Error("prompt() needs a frontend that accepts input; this one does not (allow_stdin is false: batch runners such as nbconvert never answer)");
    }
    this.capture.flush();
    this.options.post({ type: "input", origin: cell.origin, prompt, password: false });
  }

  /**
   * An error nobody caught: shown in the running cell; after its cell finished, sent at once
   * (core.ts `late` gives it the last cell as parent) with a short note for the next cell.
   */
  private reportAsync(error: unknown): void {
    const { traceback } = this.maps.error(error);
    const text = traceback.join("\n") + "\n";
    this.options.log(`uncaught: ${text}`);
    if (this.current) {
      this.output({ msg_type: "stream", content: { name: "stderr", text: `Uncaught error in a callback or promise:\n${text}` } });
      return;
    }
    this.capture.flush();
    const after = `after cell [${this.lastExecutionCount}] finished`;
    const where = traceback.slice(1).find((line) => line.includes("(cell ["));
    this.options.post({
      type: "output",
      origin: null,
      output: { msg_type: "stream", content: { name: "stderr", text: `An error was thrown asynchronously ${after}:\n${text}` } },
      note: `An error was thrown asynchronously ${after} (its traceback went out with that cell's output):\n${traceback[0]}\n${where ? where + "\n" : ""}`,
    });
  }

  private async userExpressions(expressions: Record<string, string>): Promise<JsonObject> {
    const results: JsonObject = {};
    for (const [name, expression] of Object.entries(expressions)) {
      const evaluation = await this.evaluator.evaluate(`(${expression})`);
      if (evaluation.status === "ok") {
        const { data, metadata } = await formatValue(evaluation.value).catch(() => ({ data: { "text/plain": String(evaluation.value) }, metadata: {} }));
        results[name] = { status: "ok", data, metadata };
      } else {
        const error = evaluation.status === "error" ? this.maps.error(evaluation.error) : interrupted("stopped").error;
        results[name] = { status: "error", ...error };
      }
    }
    return results;
  }
}

function interruptReason(): DOMException {
  return new DOMException("The cell was interrupted", "AbortError");
}

function interrupted(why: string): Extract<ExecuteOutcome, { status: "error" }> {
  return { status: "error", error: { ename: INTERRUPTED, evalue: why, traceback: [`${INTERRUPTED}: ${why}`] } };
}
