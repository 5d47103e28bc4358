import { getDisplaySink } from "./protocol.js";

/**
 * Coalesces redraw requests: the first request in a quiet period renders at once, later ones at
 * most once per `intervalMs`, and the last state is always rendered (a trailing render). While a
 * trailing render is pending, the running cell is held open through the display sink, so the
 * final state lands before the cell ends.
 */
export class Throttle {
  #last = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #settle: ((error?: unknown) => void) | undefined;

  constructor(
    readonly intervalMs: number,
    private readonly render: () => void,
  ) {}

  /** Asks for a render of the current state. */
  request(): void {
    const wait = this.#last + this.intervalMs - performance.now();
    // Also when a trailing render is pending but overdue: a synchronous loop never lets its
    // timer fire, and must still be seen progressing.
    if (wait <= 0) {
      this.flush();
      return;
    }
    if (this.#timer !== undefined) return;
    const pending = new Promise<void>((resolve, reject) => {
      this.#settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    this.#timer = setTimeout(() => {
      try {
        this.flush();
      } catch {
        // reported through the held promise (the kernel shows it as the cell's error)
      }
    }, wait);
    const sink = getDisplaySink();
    if (sink) sink.hold(pending);
    else {
      this.#timer.unref(); // a script may exit with a redraw pending
      pending.catch((error: unknown) => process.stderr.write(`redraw failed: ${String(error)}\n`));
    }
  }

  /** Renders now, cancelling a pending trailing render. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const settle = this.#settle;
    this.#settle = undefined;
    this.#last = performance.now();
    try {
      this.render();
    } catch (error) {
      settle?.(error);
      throw error;
    }
    settle?.();
  }

  /** Drops a pending trailing render. */
  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#settle?.();
    this.#settle = undefined;
  }
}
