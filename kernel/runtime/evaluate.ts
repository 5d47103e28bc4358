/**
 * Runs compiled cells in V8's REPL mode through an in-process inspector session.
 *
 * REPL mode (what Chrome's console and Deno's REPL use) gives exactly the semantics a notebook
 * wants, in the main realm: top-level `const`/`let`/`class` live on between cells and may be
 * declared again, and top-level `await` works. Code runs in the same realm as the libraries it
 * imports (`instanceof Float32Array` holds across them), unlike a `vm.createContext` sandbox.
 *
 * The inspector reports results as remote objects; the real value is handed back through a
 * global slot with `Runtime.callFunctionOn`, which the inspector dispatches synchronously.
 */
import { Session } from "node:inspector";

const HANDOFF = Symbol.for("cluelab.kernel.handoff");
const GROUP = "cluelab-cell";
const TAKE = `function () { "use strict"; globalThis[Symbol.for("cluelab.kernel.handoff")] = this; }`;

export type Evaluation =
  | { status: "ok"; value: unknown }
  | { status: "error"; error: unknown }
  /** Execution was terminated (a hard interrupt) before the code finished. */
  | { status: "terminated" };

interface RemoteObject {
  type: string;
  subtype?: string;
  value?: unknown;
  unserializableValue?: string;
  objectId?: string;
  description?: string;
}

interface EvaluateResult {
  result: RemoteObject;
  exceptionDetails?: { text: string; exception?: RemoteObject };
}

export class ReplEvaluator {
  private readonly session = new Session();

  constructor() {
    this.session.connect();
  }

  /**
   * Evaluates `source` as a REPL script. The promise settles when the script's completion
   * (including awaited work) settles; it never settles if execution is terminated while
   * awaiting, which the runtime handles through the interrupt protocol.
   */
  evaluate(source: string): Promise<Evaluation> {
    return new Promise((resolve) => {
      this.session.post("Runtime.evaluate", { expression: source, replMode: true, objectGroup: GROUP }, (error, response) => {
        if (error) {
          resolve({ status: "terminated" });
          return;
        }
        const { result, exceptionDetails } = response as unknown as EvaluateResult;
        if (exceptionDetails) {
          const thrown = exceptionDetails.exception;
          resolve({ status: "error", error: thrown ? this.take(thrown) : new Error(exceptionDetails.text) });
        } else {
          resolve({ status: "ok", value: this.take(result) });
        }
        this.session.post("Runtime.releaseObjectGroup", { objectGroup: GROUP });
      });
    });
  }

  /** The real value behind a remote object. */
  private take(remote: RemoteObject): unknown {
    if (remote.objectId !== undefined) {
      const global = globalThis as Record<symbol, unknown>;
      this.session.post("Runtime.callFunctionOn", { objectId: remote.objectId, functionDeclaration: TAKE, silent: true });
      const value = global[HANDOFF];
      delete global[HANDOFF];
      return value;
    }
    if (remote.unserializableValue !== undefined) return unserializable(remote.unserializableValue);
    return remote.type === "undefined" ? undefined : remote.value;
  }
}

function unserializable(text: string): unknown {
  if (text.endsWith("n")) return BigInt(text.slice(0, -1));
  if (text === "-0") return -0;
  return Number(text);
}
