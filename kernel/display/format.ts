/**
 * A value as a MIME bundle for `execute_result`: objects that render themselves through
 * `Symbol.for("Jupyter.display")` (Deno's convention, shared with cluelab's display library)
 * give their own bundle; anything else is Node-style inspection without colours (`'ab'` for a
 * string), as a REPL prints it.
 */
import { inspect } from "node:util";
import { isDisplayable, JUPYTER_DISPLAY } from "../../lib/display/protocol.js";
import type { MimeData } from "../protocol/messages.js";

export function plainText(value: unknown): string {
  return inspect(value, { colors: false, depth: 4, maxArrayLength: 100, breakLength: 100 });
}

export async function formatValue(value: unknown): Promise<MimeData> {
  if (!isDisplayable(value)) return { "text/plain": plainText(value) };
  const rendered: unknown = await value[JUPYTER_DISPLAY]();
  if (rendered === null || typeof rendered !== "object" || Array.isArray(rendered)) {
    throw new TypeError(`[Symbol.for("Jupyter.display")]() must return an object of MIME type → data, got ${plainText(rendered)}`);
  }
  const bundle = rendered as Record<string, unknown>;
  const plain = bundle["text/plain"];
  return { ...bundle, "text/plain": typeof plain === "string" ? plain : plainText(value) };
}
