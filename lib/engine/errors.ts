/** An engine problem the user can act on: the message says what was wrong and what to do. */
export class EngineError extends Error {
  override name = "EngineError";
}
