import { randomUUID } from "node:crypto";
import { inspect } from "node:util";
import { publish } from "../display.js";
import { currentAbortSignal, getCommSink, getDisplaySink, markNoResult, type MimeBundle } from "../protocol.js";
import { Throttle } from "../throttle.js";
import { barHtml, plainLine, type ProgressState, type ProgressStatus } from "./render.js";
import { TerminalLine } from "./terminal.js";
import { ProgressWidget } from "./widget.js";

/** Options of {@link progress}. */
export interface ProgressOptions {
  /** Shown before the bar. */
  label?: string;
  /**
   * Show an ipywidgets progress bar too, for frontends with a widget manager (default true).
   * The output always also carries an HTML bar, shown where widgets are not available.
   */
  widget?: boolean;
}

/** A progress bar: see {@link progress}. */
export interface Progress {
  /** The current value. */
  readonly value: number;
  /** The value at which the bar is full. */
  readonly total: number;
  /** Sets the value (and, when given, the text shown after the counts). */
  update(value: number, text?: string): void;
  /** Adds `n` (default 1) to the value. */
  increment(n?: number, text?: string): void;
  /** Draws the final state now and ends the bar; the value may be below `total` (stopped early). */
  done(text?: string): void;
}

/**
 * Redraws per second, at most. Like tqdm's default (0.1 s): faster than a person can read, yet a
 * tight loop calling `update` a million times sends about ten messages a second, not a million.
 */
export const PROGRESS_REDRAWS_PER_SECOND = 10;

/**
 * A progress bar for `total` steps, updated in place in one output.
 *
 * In a notebook the output carries an HTML bar (and, where the frontend has a widget manager, an
 * ipywidgets IntProgress); updates are throttled to {@link PROGRESS_REDRAWS_PER_SECOND} a
 * second. Reaching `total`, `done()`, or interrupting the cell draws the final state at once —
 * plain HTML, which is what the saved notebook keeps (nbconvert and other viewers show it).
 * Outside a kernel it is a progress line on stderr.
 *
 * @example
 * const bar = progress(epochs * steps, { label: "training" });
 * for (...) bar.increment(1, `loss ${loss.toFixed(3)}`);
 * bar.done();
 */
export function progress(total: number, options: ProgressOptions = {}): Progress {
  return new ProgressBar(total, options);
}

class ProgressBar implements Progress {
  readonly total: number;
  #value = 0;
  #text: string | undefined;
  #ended: "done" | "interrupted" | undefined;
  #shownComplete = false;
  readonly #label: string | undefined;
  readonly #started = performance.now();
  #elapsedMs = 0;
  readonly #id = randomUUID();
  readonly #throttle: Throttle;
  readonly #terminal: TerminalLine | undefined;
  #widget: ProgressWidget | undefined;
  #unlisten: (() => void) | undefined;
  #lastFinalLine: string | undefined;

  constructor(total: number, options: ProgressOptions) {
    if (typeof total !== "number" || !Number.isFinite(total) || total < 0) {
      throw new RangeError(`progress(): total must be a finite number ≥ 0 (the number of steps), got ${inspect(total)}`);
    }
    if (options.label !== undefined && typeof options.label !== "string") {
      throw new TypeError(`progress(): label must be a string, got ${inspect(options.label)}`);
    }
    this.total = total;
    this.#label = options.label;
    // The bar is shown already: a kernel shows no execute_result for `progress(n)` as a cell's last line.
    markNoResult(this);
    this.#throttle = new Throttle(1000 / PROGRESS_REDRAWS_PER_SECOND, () => this.#render());
    if (getDisplaySink() === undefined) {
      this.#terminal = new TerminalLine();
    } else {
      const comms = getCommSink();
      if (comms !== undefined && options.widget !== false && total > 0) this.#widget = new ProgressWidget(comms, this.#state());
      publish({ bundle: this.#bundle() }, { id: this.#id });
    }
    this.#watchInterrupt();
    if (this.#terminal) this.#render();
  }

  get value(): number {
    return this.#value;
  }

  update(value: number, text?: string): void {
    if (this.#ended === "interrupted") return; // the loop is being stopped; its last step may still report
    if (this.#ended === "done") {
      throw new Error(`progress${this.#label ? ` "${this.#label}"` : ""}: update() after done(); start a new progress() for another run`);
    }
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new RangeError(`progress: value must be a finite number, got ${inspect(value)}`);
    }
    if (text !== undefined && typeof text !== "string") throw new TypeError(`progress: text must be a string, got ${inspect(text)}`);
    this.#value = value;
    if (text !== undefined) this.#text = text;
    if (value >= this.total && !this.#shownComplete) {
      // Reaching the total is drawn at once, as plain HTML: a loop that never calls done() still
      // leaves its final state in the notebook. Later updates (past the total) are still shown.
      this.#shownComplete = true;
      this.#throttle.flush();
      this.#closeWidget();
    } else {
      this.#throttle.request();
    }
  }

  increment(n = 1, text?: string): void {
    if (typeof n !== "number" || !Number.isFinite(n)) throw new RangeError(`progress: increment must be a finite number, got ${inspect(n)}`);
    this.update(this.#value + n, text);
  }

  done(text?: string): void {
    if (this.#ended !== undefined) return;
    if (text !== undefined) this.#text = text;
    this.#end("done");
  }

  #end(how: "done" | "interrupted"): void {
    this.#ended = how;
    this.#elapsedMs = performance.now() - this.#started;
    this.#unlisten?.();
    this.#throttle.flush();
    this.#closeWidget();
  }

  // Only once the output shows the HTML bar may the widget's models go.
  #closeWidget(): void {
    this.#widget?.close();
    this.#widget = undefined;
  }

  #status(): ProgressStatus {
    if (this.#ended === "interrupted") return "interrupted";
    if (this.#value >= this.total) return "complete";
    return this.#ended === "done" ? "stopped" : "running";
  }

  #state(): ProgressState {
    const elapsedMs = this.#ended === undefined ? performance.now() - this.#started : this.#elapsedMs;
    return { label: this.#label, value: this.#value, total: this.total, text: this.#text, elapsedMs, status: this.#status() };
  }

  #bundle(): MimeBundle {
    const state = this.#state();
    const bundle: MimeBundle = { "text/plain": plainLine(state), "text/html": barHtml(state) };
    // Finished bars drop the widget view: the saved notebook must not point at models that are gone.
    if (this.#widget && state.status === "running") bundle["application/vnd.jupyter.widget-view+json"] = this.#widget.view;
    return bundle;
  }

  #render(): void {
    const state = this.#state();
    if (this.#terminal) {
      // done() right after the total was reached must not print the final line twice
      const final = state.status !== "running" ? `${state.status} ${state.value} ${state.text}` : undefined;
      if (final === undefined || final !== this.#lastFinalLine) this.#terminal.render(plainLine(state), final !== undefined);
      this.#lastFinalLine = final;
      return;
    }
    this.#widget?.render(state);
    publish({ bundle: this.#bundle() }, { id: this.#id, update: true });
  }

  #watchInterrupt(): void {
    const signal = currentAbortSignal();
    if (signal === undefined) return;
    const onAbort = () => this.#end("interrupted");
    signal.addEventListener("abort", onAbort, { once: true });
    this.#unlisten = () => signal.removeEventListener("abort", onAbort);
  }
}
