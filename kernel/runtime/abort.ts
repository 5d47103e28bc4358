/**
 * The running cell's `AbortSignal`, made to see an interrupt at once even while the cell keeps
 * the main thread busy.
 *
 * An interrupt reaches the main thread as a message, which waits until the cell yields; a
 * synchronous loop that checks `signal.aborted` between steps would never see it. So the
 * protocol worker also writes the interrupted request's origin into shared memory, and this
 * signal's `aborted`, `reason` and `throwIfAborted()` read it: when it names this cell, the
 * signal is aborted right there, on the main thread (its `abort` listeners run then, as for any
 * `AbortController.abort()`). The object stays a real `AbortSignal` (instanceof, events,
 * `AbortSignal.any`), with these three members shadowed on the instance.
 */

/** Shared memory holding the origin of the request the protocol worker last interrupted (0: none). */
export function interruptBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
}

/** The protocol worker's side: marks the request with this origin as interrupted. */
export function markInterrupted(buffer: SharedArrayBuffer, origin: number): void {
  Atomics.store(new Int32Array(buffer), 0, origin);
}

const ABORTED = Object.getOwnPropertyDescriptor(AbortSignal.prototype, "aborted")!.get!;
const REASON = Object.getOwnPropertyDescriptor(AbortSignal.prototype, "reason")!.get!;
const THROW_IF_ABORTED = AbortSignal.prototype.throwIfAborted;

/**
 * The signal of `controller`, which `markInterrupted(buffer, origin)` from another thread aborts
 * with `reason()` as soon as this thread looks at it.
 */
export function cellAbortSignal(controller: AbortController, buffer: SharedArrayBuffer, origin: number, reason: () => unknown): AbortSignal {
  const signal = controller.signal;
  const flag = new Int32Array(buffer);
  const observe = () => {
    if (!ABORTED.call(signal) && Atomics.load(flag, 0) === origin) controller.abort(reason());
  };
  Object.defineProperties(signal, {
    aborted: {
      get: () => {
        observe();
        return ABORTED.call(signal) as boolean;
      },
      configurable: true,
    },
    reason: {
      get: () => {
        observe();
        return REASON.call(signal) as unknown;
      },
      configurable: true,
    },
    throwIfAborted: {
      value: () => {
        observe();
        THROW_IF_ABORTED.call(signal);
      },
      configurable: true,
      writable: true,
    },
  });
  return signal;
}
