/**
 * A recording kernel side for the display tests: a DisplaySink and a CommSink that keep every
 * request in order (as a kernel would publish them on iopub), and a per-cell AbortSignal.
 * It stands in for the transport only; everything under test is the real library code.
 */
import {
  CELL_ABORT_SIGNAL,
  setCommSink,
  setDisplaySink,
  type Comm,
  type CommMessage,
  type CommSendOptions,
  type CommSink,
  type DisplayMetadata,
  type DisplayRequest,
  type DisplaySink,
  type MimeBundle,
} from "../../lib/display/index.js";

/** What a kernel would publish, in order. */
export type Event =
  | { kind: "display"; request: DisplayRequest }
  | { kind: "clear"; wait: boolean }
  | { kind: "comm_open"; commId: string; targetName: string; data: Record<string, unknown>; metadata: Record<string, unknown> }
  | { kind: "comm_msg"; commId: string; data: Record<string, unknown> }
  | { kind: "comm_close"; commId: string };

export class RecordingSink implements DisplaySink {
  readonly events: Event[] = [];
  readonly held: Promise<unknown>[] = [];

  display(request: DisplayRequest): void {
    this.events.push({ kind: "display", request: structuredClone(request) });
  }
  clearOutput(options?: { wait?: boolean }): void {
    this.events.push({ kind: "clear", wait: options?.wait === true });
  }
  hold(work: Promise<unknown>): void {
    this.held.push(work);
    work.catch(() => {}); // the tests inspect rejections through `settle`
  }

  /** Waits until every held promise settled (new ones may be held meanwhile); returns the outcomes. */
  async settle(): Promise<PromiseSettledResult<unknown>[]> {
    let seen = -1;
    let results: PromiseSettledResult<unknown>[] = [];
    while (seen !== this.held.length) {
      seen = this.held.length;
      results = await Promise.allSettled(this.held);
    }
    return results;
  }

  /** Only the display requests. */
  get displays(): DisplayRequest[] {
    return this.events.flatMap((e) => (e.kind === "display" ? [e.request] : []));
  }
}

class RecordedComm implements Comm {
  closed = false;
  readonly #messageHandlers: ((m: CommMessage) => void)[] = [];
  readonly #closeHandlers: ((m: CommMessage) => void)[] = [];

  constructor(
    readonly commId: string,
    readonly targetName: string,
    private readonly events: Event[],
  ) {}

  send(data: Record<string, unknown>, _options?: CommSendOptions): void {
    if (this.closed) throw new Error(`comm ${this.commId} is closed`);
    this.events.push({ kind: "comm_msg", commId: this.commId, data: structuredClone(data) });
  }
  close(_data?: Record<string, unknown>): void {
    if (this.closed) return;
    this.closed = true;
    this.events.push({ kind: "comm_close", commId: this.commId });
  }
  onMessage(handler: (m: CommMessage) => void): void {
    this.#messageHandlers.push(handler);
  }
  onClose(handler: (m: CommMessage) => void): void {
    this.#closeHandlers.push(handler);
  }
  /** A `comm_msg` from the frontend. */
  receive(data: Record<string, unknown>): void {
    for (const h of this.#messageHandlers) h({ data, metadata: {}, buffers: [] });
  }
}

export class RecordingComms implements CommSink {
  readonly comms = new Map<string, RecordedComm>();
  readonly targets = new Map<string, (comm: Comm, message: CommMessage) => void>();
  #next = 0;

  constructor(private readonly events: Event[]) {}

  open(targetName: string, data: Record<string, unknown> = {}, options: CommSendOptions = {}): Comm {
    const comm = new RecordedComm(`comm-${++this.#next}`, targetName, this.events);
    this.comms.set(comm.commId, comm);
    this.events.push({ kind: "comm_open", commId: comm.commId, targetName, data: structuredClone(data), metadata: structuredClone(options.metadata ?? {}) });
    return comm;
  }
  registerTarget(targetName: string, onOpen: (comm: Comm, message: CommMessage) => void): () => void {
    this.targets.set(targetName, onOpen);
    return () => this.targets.delete(targetName);
  }
  /** The frontend opens a comm to a kernel target; returns it, or undefined when unregistered. */
  frontendOpens(targetName: string): RecordedComm | undefined {
    const onOpen = this.targets.get(targetName);
    if (!onOpen) return undefined;
    const comm = new RecordedComm(`frontend-${++this.#next}`, targetName, this.events);
    this.comms.set(comm.commId, comm);
    onOpen(comm, { data: {}, metadata: {}, buffers: [] });
    return comm;
  }
}

/** A kernel session: sinks installed on globalThis, one AbortController per "cell". */
export class FakeKernel {
  readonly sink = new RecordingSink();
  readonly comms = new RecordingComms(this.sink.events);
  cell = new AbortController();

  constructor(options: { comms?: boolean } = {}) {
    setDisplaySink(this.sink);
    if (options.comms !== false) setCommSink(this.comms);
    this.#publishSignal();
  }

  /** Starts the next cell execution (a fresh AbortSignal). */
  nextCell(): void {
    this.cell = new AbortController();
    this.#publishSignal();
  }

  uninstall(): void {
    setDisplaySink(undefined);
    setCommSink(undefined);
    delete (globalThis as Record<symbol, unknown>)[CELL_ABORT_SIGNAL];
  }

  #publishSignal(): void {
    (globalThis as Record<symbol, unknown>)[CELL_ABORT_SIGNAL] = this.cell.signal;
  }
}

/** One notebook output, as nbformat stores it. */
export interface NotebookOutput {
  output_type: "display_data";
  data: MimeBundle;
  metadata: DisplayMetadata;
}

/**
 * The outputs a notebook client would save for these events, applying updates by display id and
 * clears as nbclient does.
 */
export function notebookOutputs(events: readonly Event[]): NotebookOutput[] {
  const outputs: { id?: string; output: NotebookOutput }[] = [];
  let clearPending = false;
  for (const event of events) {
    if (event.kind === "clear") {
      if (event.wait) clearPending = true;
      else outputs.length = 0;
      continue;
    }
    if (event.kind !== "display") continue;
    const { bundle, metadata = {}, id, update } = event.request;
    if (update) {
      for (const o of outputs) if (o.id === id) o.output = { output_type: "display_data", data: bundle, metadata };
      continue;
    }
    if (clearPending) {
      outputs.length = 0;
      clearPending = false;
    }
    if (id !== undefined) for (const o of outputs) if (o.id === id) o.output = { output_type: "display_data", data: bundle, metadata };
    outputs.push({ ...(id === undefined ? {} : { id }), output: { output_type: "display_data", data: bundle, metadata } });
  }
  return outputs.map((o) => o.output);
}

/**
 * The notebook metadata nbclient saves for the widget comms in these events (its
 * `set_widgets_metadata`: every model's last state, kept even after its comm closed).
 */
export function savedWidgetState(events: readonly Event[]): Record<string, unknown> {
  const states = new Map<string, Record<string, unknown>>();
  for (const e of events) {
    if (e.kind === "comm_open" && e.targetName === "jupyter.widget") states.set(e.commId, { ...(e.data["state"] as object) });
    if (e.kind === "comm_msg" && states.has(e.commId) && e.data["state"]) Object.assign(states.get(e.commId)!, e.data["state"]);
  }
  const state = Object.fromEntries(
    [...states].map(([id, s]) => [id, { model_name: s["_model_name"], model_module: s["_model_module"], model_module_version: s["_model_module_version"], state: s }]),
  );
  return { "application/vnd.jupyter.widget-state+json": { state, version_major: 2, version_minor: 0 } };
}
