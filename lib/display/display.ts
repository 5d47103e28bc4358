import { randomUUID } from "node:crypto";
import { renderDisplayData, type DisplayData } from "./bundle.js";
import { getDisplaySink, markNoResult, type DisplayMetadata, type DisplaySink } from "./protocol.js";

/** Options of {@link display}. */
export interface DisplayOptions {
  /**
   * Display id. Outputs shown with the same id are updated together: by the handle's `update`,
   * by {@link updateDisplay}, and by a later `display` with this id (which also adds an output).
   */
  id?: string;
  /** Per-MIME-type metadata, e.g. `{ "image/png": { width: 200 } }`; it overrides the value's own. */
  metadata?: DisplayMetadata;
}

/** The handle of one display: update or clear its output(s) in place. */
export interface DisplayHandle {
  /** The display id (given, or generated). */
  readonly id: string;
  /** Replaces what every output with this id shows by `value`. */
  update(value: unknown): void;
  /** Empties every output with this id (Jupyter cannot remove a single output). */
  clear(): void;
}

/**
 * Shows `value` in the notebook — rich when it is displayable (anything with a
 * `[Symbol.for("Jupyter.display")]()` method, e.g. {@link html}, {@link plotly}, {@link image}),
 * Node-style inspection otherwise — and returns a handle to update it in place.
 *
 * The handle comes back at once; a value whose display method is asynchronous is rendered in the
 * background, and the kernel keeps the cell running until it lands, so outputs keep the order of
 * the calls. Outside a kernel the value's `text/plain` form is printed to stdout.
 *
 * @example
 * const h = display(md("**training…**"));
 * // later
 * h.update(md("**done** in 12 s"));
 */
export function display(value: unknown, options: DisplayOptions = {}): DisplayHandle {
  const id = options.id ?? randomUUID();
  const sink = getDisplaySink();
  let reused = false;
  if (sink !== undefined && options.id !== undefined) {
    const ids = seenIds(sink);
    reused = ids.has(id);
    ids.add(id);
  }
  // The output always carries its id (generated when not given), so the handle can update it.
  enqueue(sink, () => renderDisplayData(value), (data, out) => {
    const request = { ...withMetadata(data, options.metadata), id };
    out.display(request);
    // A display_data with a known id adds an output; the update makes every frontend refresh the
    // older outputs with that id too (nbclient does so on its own, not every frontend does).
    if (reused) out.display({ ...request, update: true });
  });
  return handleFor(id, options.metadata);
}

/** Replaces what every output shown with display id `id` shows by `value`. */
export function updateDisplay(id: string, value: unknown, options: { metadata?: DisplayMetadata } = {}): void {
  const sink = getDisplaySink();
  enqueue(sink, () => renderDisplayData(value), (data, out) =>
    out.display({ ...withMetadata(data, options.metadata), id, update: true }),
  );
}

/**
 * Clears the current cell's outputs. With `wait: true` the clearing happens when the next output
 * arrives, which avoids flicker when redrawing in a loop.
 */
export function clearOutput(options: { wait?: boolean } = {}): void {
  const sink = getDisplaySink();
  const wait = options.wait === true;
  for (const listener of clearListeners) listener();
  if (sink === undefined) return;
  enqueue(sink, () => null, (_data, out) => out.clearOutput({ wait }));
}

/**
 * Sends already rendered data through the same ordered queue as {@link display}: used by the
 * displayables that manage their own display id (progress bars, live figures, tslab's API).
 * @internal
 */
export function publish(data: DisplayData, target: { id?: string; update?: boolean } = {}): void {
  const sink = getDisplaySink();
  enqueue(sink, () => data, (d, out) => out.display({ ...d, ...target }));
}

/**
 * Registers `listener` to run whenever {@link clearOutput} is called (outputs a displayable
 * relied on may be gone). Returns a function that unregisters it.
 * @internal
 */
export function onClearOutput(listener: () => void): () => void {
  clearListeners.add(listener);
  return () => clearListeners.delete(listener);
}

const clearListeners = new Set<() => void>();

// Updates go to the sink installed when they are made (a later cell may update an earlier output).
function handleFor(id: string, metadata: DisplayMetadata | undefined): DisplayHandle {
  // Marked so a kernel shows no execute_result for `display(x)` as a cell's last expression.
  return markNoResult({
    id,
    update(value: unknown): void {
      updateDisplay(id, value, metadata === undefined ? {} : { metadata });
    },
    clear(): void {
      publish({ bundle: { "text/plain": "" } }, { id, update: true });
    },
  });
}

function withMetadata(data: DisplayData, override: DisplayMetadata | undefined): DisplayData {
  if (override === undefined) return data;
  return { bundle: data.bundle, metadata: { ...data.metadata, ...override } };
}

const idsBySink = new WeakMap<DisplaySink, Set<string>>();
function seenIds(sink: DisplaySink): Set<string> {
  let ids = idsBySink.get(sink);
  if (ids === undefined) idsBySink.set(sink, (ids = new Set()));
  return ids;
}

/** Where a rendered output goes: the kernel's sink, or the terminal outside a kernel. */
interface Output {
  display(request: DisplayData & { id?: string; update?: boolean }): void;
  clearOutput(options: { wait: boolean }): void;
}

const terminal: Output = {
  display(request) {
    const text = request.bundle["text/plain"];
    if (text !== "") process.stdout.write(text + "\n");
  },
  clearOutput() {},
};

// Outputs leave in call order: while an asynchronous render is pending, later ones wait for it.
const tails = new WeakMap<object, Promise<void>>();
const TERMINAL_KEY = {};

function enqueue(
  sink: DisplaySink | undefined,
  render: () => DisplayData | Promise<DisplayData> | null,
  send: (data: DisplayData, out: Output) => void,
): void {
  const out: Output = sink ?? terminal;
  const key = sink ?? TERMINAL_KEY;
  const tail = tails.get(key);
  const run = (): void | Promise<void> => {
    const data = render();
    if (data instanceof Promise) return data.then((d) => send(d, out));
    send(data ?? { bundle: { "text/plain": "" } }, out);
  };
  if (tail === undefined) {
    const result = run(); // synchronous renders (and their errors) happen right here
    if (result === undefined) return;
    track(key, sink, result);
  } else {
    track(key, sink, tail.then(run));
  }
}

function track(key: object, sink: DisplaySink | undefined, work: Promise<void>): void {
  const settled = work.then(
    () => undefined,
    () => undefined,
  );
  tails.set(key, settled);
  void settled.then(() => {
    if (tails.get(key) === settled) tails.delete(key);
  });
  if (sink !== undefined) sink.hold(work);
  else work.catch((error: unknown) => process.stderr.write(`display failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`));
}
