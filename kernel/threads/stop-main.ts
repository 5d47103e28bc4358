/**
 * Hard-stops JavaScript that keeps the main thread busy, through the inspector, without
 * breaking Node.
 *
 * A bare `Runtime.terminateExecution` unwinds the JavaScript; but when that JavaScript runs in a
 * callback Node made (a timer spinning after its cell, say), Node never pops the callback's async
 * context, and aborts the whole process as the callback returns ("async hook stack has become
 * corrupted"). So the thread is first paused, the async id stack is cleared from the paused frame
 * (Node's own pops then meet an empty stack and skip their check, as after an uncaught
 * exception), and only then resumed and terminated. The debugger is on only for that moment, with
 * breakpoints inactive so that a `debugger;` statement in user code stops nothing; if a step fails,
 * the bare terminate still runs.
 */
import { Session } from "node:inspector";
import { CLEAR_ASYNC_ID_STACK_EXPRESSION } from "../runtime/async-stack.js";

/** How long a stop waits for the main thread to pause at its next JavaScript statement. */
const PAUSE_WAIT_MS = 1000;

/** Returns the function that stops the main thread's running JavaScript (one stop at a time). */
export function mainThreadStopper(log: (line: string) => void): () => void {
  const session = new Session();
  session.connectToMainThread();
  const post = <T = unknown>(method: string, params: object = {}) =>
    new Promise<T>((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T))));
  let stopping = false;

  const stop = async () => {
    try {
      await post("Debugger.enable");
      await post("Debugger.setBreakpointsActive", { active: false });
      let onPaused: ((message: { params: unknown }) => void) | undefined;
      const paused = new Promise<{ callFrames: Array<{ callFrameId: string }> } | undefined>((resolve) => {
        onPaused = (message) => resolve(message.params as { callFrames: Array<{ callFrameId: string }> });
        session.once("Debugger.paused", onPaused);
        // JavaScript pauses at its next statement; none within this time (the thread is in a long
        // native call, or finished meanwhile) leaves the stop to the watchdog's next round.
        setTimeout(() => resolve(undefined), PAUSE_WAIT_MS);
      });
      await post("Debugger.pause");
      const where = await paused;
      if (!where) {
        session.off("Debugger.paused", onPaused!);
        log(`hard stop: the main thread ran no JavaScript within ${PAUSE_WAIT_MS} ms; not stopped this time`);
        return; // disabling the debugger (below) drops the pending pause
      }
      const frame = where.callFrames[0];
      if (frame) {
        const { result } = await post<{ result: { value?: unknown } }>("Debugger.evaluateOnCallFrame", {
          callFrameId: frame.callFrameId,
          expression: CLEAR_ASYNC_ID_STACK_EXPRESSION,
          silent: true,
        });
        if (result.value !== true) log("hard stop: the main thread has no async id stack reset; stopping it anyway");
      }
      await post("Debugger.resume");
      await post("Runtime.terminateExecution");
    } catch (error) {
      log(`hard stop through the debugger failed (${(error as Error).message}); terminating directly`);
      session.post("Runtime.terminateExecution");
    } finally {
      await post("Debugger.disable").catch(() => undefined);
      stopping = false;
    }
  };

  return () => {
    if (stopping) return;
    stopping = true;
    void stop();
  };
}
