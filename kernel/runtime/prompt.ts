/**
 * A synchronous `prompt(message)`, as in browsers and Deno: the main thread blocks on a shared
 * buffer (`Atomics.wait`) while the protocol worker sends `input_request` over stdin and writes
 * the frontend's answer into the buffer.
 */
import { INPUT_BUFFER_BYTES, InputState } from "../threads/messages.js";

export type Prompt = (message?: unknown, defaultValue?: unknown) => string | null;

/**
 * @param ask sends the input request for the running cell, or throws a clear error when there
 *   is no running cell or its frontend does not accept input
 */
export function createPrompt(buffer: SharedArrayBuffer, ask: (prompt: string) => void): Prompt {
  const header = new Int32Array(buffer, 0, 2);
  const bytes = new Uint8Array(buffer, 8, INPUT_BUFFER_BYTES);
  const decoder = new TextDecoder();
  return (message = "", defaultValue) => {
    Atomics.store(header, 0, InputState.Waiting);
    ask(String(message));
    Atomics.wait(header, 0, InputState.Waiting);
    const text = decoder.decode(bytes.slice(0, Atomics.load(header, 1)));
    const state = Atomics.load(header, 0);
    if (state === InputState.Error) throw new Error(text);
    // As the cell's AbortSignal would (`signal.throwIfAborted()`): an AbortError.
    if (state === InputState.Interrupted) throw new DOMException(text, "AbortError");
    return text === "" && defaultValue !== undefined ? String(defaultValue) : text;
  };
}

/** The protocol worker's side: answers a waiting `prompt()` with a value or an error message. */
export function answerPrompt(buffer: SharedArrayBuffer, state: Exclude<(typeof InputState)[keyof typeof InputState], typeof InputState.Waiting>, text: string): void {
  const header = new Int32Array(buffer, 0, 2);
  const bytes = new Uint8Array(buffer, 8, INPUT_BUFFER_BYTES);
  let encoded = new TextEncoder().encode(text);
  if (encoded.length > INPUT_BUFFER_BYTES) encoded = encoded.slice(0, INPUT_BUFFER_BYTES);
  bytes.set(encoded);
  Atomics.store(header, 1, encoded.length);
  Atomics.store(header, 0, state);
  Atomics.notify(header, 0);
}

export function inputBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(8 + INPUT_BUFFER_BYTES);
}
