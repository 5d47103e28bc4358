/**
 * A value as a MIME bundle for `execute_result`: objects that render themselves through
 * `Symbol.for("Jupyter.display")` (Deno's convention, shared with cluelab's display library)
 * give their own bundle, and their metadata through `Symbol.for("cluelab.display.metadata")`
 * (e.g. an image's width); anything else is Node-style inspection without colours (`'ab'` for a
 * string), as a REPL prints it.
 */
import { inspect } from "node:util";
import { DISPLAY_METADATA, isDisplayable, JUPYTER_DISPLAY } from "../../lib/display/protocol.js";
import type { JsonObject, MimeData } from "../protocol/messages.js";

export function plainText(value: unknown): string {
  return inspect(value, { colors: false, depth: 4, maxArrayLength: 100, breakLength: 100 });
}

export interface Formatted {
  data: MimeData;
  metadata: JsonObject;
}

export async function formatValue(value: unknown): Promise<Formatted> {
  if (!isDisplayable(value)) return { data: { "text/plain": plainText(value) }, metadata: {} };
  const rendered: unknown = await value[JUPYTER_DISPLAY]();
  if (rendered === null || typeof rendered !== "object" || Array.isArray(rendered)) {
    throw new TypeError(`[Symbol.for("Jupyter.display")]() must return an object of MIME type → data, got ${plainText(rendered)}`);
  }
  const bundle = rendered as Record<string, unknown>;
  const plain = bundle["text/plain"];
  return { data: { ...bundle, "text/plain": typeof plain === "string" ? plain : plainText(value) }, metadata: metadataOf(value) };
}

function metadataOf(value: object): JsonObject {
  const method = (value as { [DISPLAY_METADATA]?: unknown })[DISPLAY_METADATA];
  if (typeof method !== "function") return {};
  const metadata: unknown = method.call(value);
  if (metadata === undefined) return {};
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
    throw new TypeError(`[Symbol.for("cluelab.display.metadata")]() must return an object of MIME type → metadata, got ${plainText(metadata)}`);
  }
  return metadata as JsonObject;
}
