/**
 * The display protocol shared by the cluelab library and any Jupyter kernel.
 *
 * It is deliberately tiny and lives on `globalThis` through registered symbols, so the
 * library never imports a kernel and a kernel never imports the library: both only agree
 * on these symbols.
 *
 * @packageDocumentation
 */

/**
 * A MIME bundle: MIME type → data. `text/plain` is always present so every frontend can show
 * something. JSON types (`application/json`, `application/vnd.plotly.v1+json`) carry objects;
 * text and base64 image types carry strings.
 */
export interface MimeBundle {
  "text/plain": string;
  [mimeType: string]: unknown;
}

/** Metadata attached to a display, keyed by MIME type (e.g. `{ "image/png": { width: 200 } }`). */
export type DisplayMetadata = Record<string, unknown>;

/**
 * Deno's convention, shared by cluelab: an object with a method under this symbol returns the
 * MIME bundle it wants to be shown as (or a promise of it).
 */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

/** An object that renders itself through {@link JUPYTER_DISPLAY}. */
export interface Displayable {
  [JUPYTER_DISPLAY](): Record<string, unknown> | Promise<Record<string, unknown>>;
}

/**
 * cluelab's addition to Deno's convention: a displayable may also have a method under this
 * symbol returning the per-MIME-type metadata of its output (e.g. `{ "image/png": { width: 280 } }`),
 * which a kernel sends as the `metadata` of the `display_data` / `execute_result`.
 */
export const DISPLAY_METADATA: unique symbol = Symbol.for("cluelab.display.metadata") as never;

/** A displayable that also supplies output metadata through {@link DISPLAY_METADATA}. */
export interface DisplayableWithMetadata extends Displayable {
  [DISPLAY_METADATA](): DisplayMetadata;
}

/**
 * A marker for values that stand for an output already shown, such as the handle `display()`
 * returns or a progress bar: a kernel shows no `execute_result` for a cell whose last
 * expression is such a value (`display(x)` as a cell's last line shows `x` once, not also its
 * handle). Set it with {@link markNoResult}.
 */
export const NO_RESULT: unique symbol = Symbol.for("cluelab.display.noResult") as never;

/** Marks `value` with {@link NO_RESULT} (non-enumerable, so it stays out of printing and JSON); returns it. */
export function markNoResult<T extends object>(value: T): T {
  Object.defineProperty(value, NO_RESULT, { value: true, enumerable: false });
  return value;
}

/** True when `value` carries the {@link NO_RESULT} marker. */
export function isNoResult(value: unknown): boolean {
  return (typeof value === "object" || typeof value === "function") && value !== null && (value as { [NO_RESULT]?: unknown })[NO_RESULT] === true;
}

/** What a sink is asked to do with one display. */
export interface DisplayRequest {
  bundle: MimeBundle;
  metadata?: DisplayMetadata;
  /** A display id; a later request with `update: true` and the same id replaces it everywhere. */
  id?: string;
  /** Replace the outputs already shown under `id` instead of adding a new one. */
  update?: boolean;
}

/**
 * The sink a kernel installs on `globalThis` (under {@link DISPLAY_SINK}) to receive displays.
 * Outside a kernel no sink is installed and displays degrade to terminal output.
 */
export interface DisplaySink {
  display(request: DisplayRequest): void;
  clearOutput(options?: { wait?: boolean }): void;
  /**
   * Keeps the running cell open until `work` settles, so outputs produced by asynchronous
   * rendering (a displayable whose method returns a promise) land before the cell's `idle`.
   * A rejection is reported by the kernel as the cell's error output.
   */
  hold(work: Promise<unknown>): void;
}

/** The `globalThis` key under which a kernel installs its {@link DisplaySink}. */
export const DISPLAY_SINK: unique symbol = Symbol.for("cluelab.display.sink") as never;

/**
 * The `globalThis` key under which a kernel publishes the running cell's `AbortSignal`,
 * so long loops in library code can stop cooperatively between steps. Each cell execution gets
 * a fresh signal, so its identity also tells one cell execution from the next.
 */
export const CELL_ABORT_SIGNAL: unique symbol = Symbol.for("cluelab.cell.abortSignal") as never;

/** One message on a comm: its JSON data and metadata, and binary buffers. */
export interface CommMessage {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  buffers: Uint8Array[];
}

/** Options of a comm message sent from the kernel side. */
export interface CommSendOptions {
  metadata?: Record<string, unknown>;
  buffers?: Uint8Array[];
}

/**
 * One end of a Jupyter comm (`comm_open` / `comm_msg` / `comm_close`), whichever side opened it.
 * Messages from the frontend arrive through the handlers; `send` and `close` publish on iopub
 * with the running cell (or the last request) as parent.
 */
export interface Comm {
  readonly commId: string;
  readonly targetName: string;
  /** True once either side closed the comm; sending on a closed comm throws. */
  readonly closed: boolean;
  send(data: Record<string, unknown>, options?: CommSendOptions): void;
  close(data?: Record<string, unknown>, options?: CommSendOptions): void;
  /** Adds a handler for the frontend's `comm_msg` on this comm. */
  onMessage(handler: (message: CommMessage) => void): void;
  /** Adds a handler for the frontend's `comm_close` (not called for a close from this side). */
  onClose(handler: (message: CommMessage) => void): void;
}

/**
 * The comm manager a kernel installs on `globalThis` (under {@link COMM_SINK}); absent outside
 * a kernel, where comms cannot exist.
 */
export interface CommSink {
  /** Opens a comm from the kernel side to a target the frontend registered (e.g. `jupyter.widget`). */
  open(targetName: string, data?: Record<string, unknown>, options?: CommSendOptions): Comm;
  /**
   * Accepts `comm_open` requests from the frontend for `targetName` (a frontend asking for an
   * unregistered target gets its comm closed). Returns a function that unregisters the target.
   */
  registerTarget(targetName: string, onOpen: (comm: Comm, message: CommMessage) => void): () => void;
}

/** The `globalThis` key under which a kernel installs its {@link CommSink}. */
export const COMM_SINK: unique symbol = Symbol.for("cluelab.comm.sink") as never;

type RuntimeGlobals = {
  [DISPLAY_SINK]?: DisplaySink;
  [COMM_SINK]?: CommSink;
  [CELL_ABORT_SIGNAL]?: AbortSignal;
};

const runtime = globalThis as typeof globalThis & RuntimeGlobals;

/** Installs (or, with `undefined`, removes) the display sink. Returns the previous one. */
export function setDisplaySink(sink: DisplaySink | undefined): DisplaySink | undefined {
  const previous = runtime[DISPLAY_SINK];
  if (sink === undefined) delete runtime[DISPLAY_SINK];
  else runtime[DISPLAY_SINK] = sink;
  return previous;
}

/** The installed display sink, or `undefined` outside a kernel. */
export function getDisplaySink(): DisplaySink | undefined {
  return runtime[DISPLAY_SINK];
}

/** Installs (or, with `undefined`, removes) the comm manager. Returns the previous one. */
export function setCommSink(sink: CommSink | undefined): CommSink | undefined {
  const previous = runtime[COMM_SINK];
  if (sink === undefined) delete runtime[COMM_SINK];
  else runtime[COMM_SINK] = sink;
  return previous;
}

/** The installed comm manager, or `undefined` outside a kernel. */
export function getCommSink(): CommSink | undefined {
  return runtime[COMM_SINK];
}

/** The running cell's abort signal when a kernel publishes one, else `undefined`. */
export function currentAbortSignal(): AbortSignal | undefined {
  return runtime[CELL_ABORT_SIGNAL];
}

/** True when `value` implements the {@link JUPYTER_DISPLAY} method. */
export function isDisplayable(value: unknown): value is Displayable {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as Partial<Displayable>)[JUPYTER_DISPLAY] === "function"
  );
}
