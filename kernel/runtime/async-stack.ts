/**
 * Lets the protocol worker reset Node's async id stack on the main thread before it hard-stops
 * JavaScript there (threads/stop-main.ts says why). Node keeps the stack in its internal
 * `async_wrap` binding, whose `clearAsyncIdStack` is what Node itself calls after an uncaught
 * exception; the binding is reached once, here (../node-binding.ts).
 */
import { nodeBinding } from "../node-binding.js";

/** The global (a registered symbol) under which the main thread exposes the reset. */
export const CLEAR_ASYNC_ID_STACK = "cluelab.kernel.clearAsyncIdStack";

/** The expression the worker evaluates in the paused main thread; true when the reset ran. */
export const CLEAR_ASYNC_ID_STACK_EXPRESSION = `(() => { const clear = globalThis[Symbol.for(${JSON.stringify(CLEAR_ASYNC_ID_STACK)})]; if (typeof clear !== "function") return false; clear(); return true; })()`;

/** Installs the reset on the main thread; without Node's binding (another runtime) it installs nothing. */
export function installAsyncStackReset(): void {
  const binding = nodeBinding<{ clearAsyncIdStack: () => void }>("async_wrap");
  // No binding: the worker falls back to a bare terminate.
  if (typeof binding?.clearAsyncIdStack !== "function") return;
  Object.defineProperty(globalThis, Symbol.for(CLEAR_ASYNC_ID_STACK), { value: binding.clearAsyncIdStack.bind(binding), enumerable: false });
}
