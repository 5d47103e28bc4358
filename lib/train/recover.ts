/**
 * Recovery after a hard interrupt. A notebook kernel that gets no answer from a busy cell within
 * its grace period terminates the running JavaScript (V8's TerminateExecution). A training step
 * is one synchronous TensorFlow.js computation of seconds on a CPU backend, so an interrupt
 * during it ends it there — and no `finally` runs: TensorFlow.js' engine is left inside the
 * step's scopes, with its kernel depth raised and the gradient tape of the step still attached.
 * From then on every gradient is silently empty (the tape stays off while the kernel depth is not
 * zero). The trainer's own state is intact (a step commits its changes at its very end).
 */
import { tf } from "../engine/index.js";

interface EngineState {
  kernelDepth: number;
  gradientDepth: number;
  activeTape: unknown[] | null;
  scopeStack: Array<{ track: unknown[] }>;
  activeScope: unknown;
  numDataMovesStack: unknown[];
}

/**
 * Puts TensorFlow.js' engine back at top level after a computation was cut off: no open scope,
 * no kernel in progress, no gradient tape. The tensors the cut-off scopes were tracking cannot be
 * told apart from tensors made since, so they are left allocated. Returns how many that is.
 * Only call it at top level (outside `tf.tidy`), when nothing is running.
 */
export function resetEngineAfterTermination(): { stranded: number } {
  const state = (tf.engine() as unknown as { state: EngineState }).state;
  const stranded = state.scopeStack.reduce((n, scope) => n + scope.track.length, 0);
  state.kernelDepth = 0;
  state.gradientDepth = 0;
  state.activeTape = null;
  state.scopeStack = [];
  state.activeScope = null;
  state.numDataMovesStack = [];
  return { stranded };
}
