import { inspect } from "node:util";
import { isDisplayable, JUPYTER_DISPLAY, type MimeBundle } from "./protocol.js";

/**
 * Turns any value into a MIME bundle: a {@link Displayable} renders itself; anything else is
 * shown as Node-style inspection (`'ab'` for a string), without ANSI colours.
 *
 * A bundle returned by a displayable that lacks `text/plain` gets one, so every frontend can
 * show something.
 */
export async function toMimeBundle(value: unknown): Promise<MimeBundle> {
  if (isDisplayable(value)) {
    const rendered = await value[JUPYTER_DISPLAY]();
    if (rendered === null || typeof rendered !== "object") {
      throw new TypeError(
        `[Symbol.for("Jupyter.display")]() must return an object of MIME type → data, got ${inspect(rendered)}`,
      );
    }
    const plain = rendered["text/plain"];
    return { ...rendered, "text/plain": typeof plain === "string" ? plain : plainText(value) };
  }
  return { "text/plain": plainText(value) };
}

/** Node-style inspection without colours, as a REPL would print `value`. */
export function plainText(value: unknown): string {
  return inspect(value, { colors: false, depth: 4, maxArrayLength: 100, breakLength: 100 });
}
