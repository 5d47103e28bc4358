/**
 * A value as a MIME bundle for `execute_result`, rendered exactly as cluelab's `display()` renders
 * it (lib/display/bundle.ts): objects with `Symbol.for("Jupyter.display")` (Deno's convention)
 * give their own bundle and, through `Symbol.for("cluelab.display.metadata")`, their metadata;
 * anything else is Node-style inspection without colours (`'ab'` for a string), as a REPL prints it.
 */
import { toDisplayData } from "../../lib/display/bundle.js";
import type { JsonObject, MimeData } from "../protocol/messages.js";

export interface Formatted {
  data: MimeData;
  metadata: JsonObject;
}

export async function formatValue(value: unknown): Promise<Formatted> {
  const { bundle, metadata } = await toDisplayData(value);
  return { data: bundle as MimeData, metadata: (metadata ?? {}) as JsonObject };
}
