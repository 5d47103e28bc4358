import { inspect } from "node:util";
import { DISPLAY_METADATA, isDisplayable, JUPYTER_DISPLAY, type DisplayMetadata, type MimeBundle } from "./protocol.js";

/** A rendered output: its MIME bundle and optional per-MIME-type metadata. */
export interface DisplayData {
  bundle: MimeBundle;
  metadata?: DisplayMetadata;
}

/**
 * Renders `value` as {@link DisplayData}: a {@link Displayable} renders itself (with its
 * {@link DISPLAY_METADATA} when it has one); anything else is shown as Node-style inspection.
 *
 * The result is synchronous when the value's display method is, so a display can be sent before
 * the next line of the cell runs; a display method returning a promise gives a promise.
 */
export function renderDisplayData(value: unknown): DisplayData | Promise<DisplayData> {
  if (!isDisplayable(value)) return { bundle: { "text/plain": plainText(value) } };
  const rendered = value[JUPYTER_DISPLAY]();
  const metadata = displayMetadata(value);
  if (rendered instanceof Promise) return rendered.then((r) => withPlainText(value, r, metadata));
  return withPlainText(value, rendered, metadata);
}

/** {@link renderDisplayData}, always as a promise. */
export async function toDisplayData(value: unknown): Promise<DisplayData> {
  return renderDisplayData(value);
}

/**
 * Turns any value into a MIME bundle: a {@link Displayable} renders itself; anything else is
 * shown as Node-style inspection (`'ab'` for a string), without ANSI colours.
 *
 * A bundle returned by a displayable that lacks `text/plain` gets one, so every frontend can
 * show something.
 */
export async function toMimeBundle(value: unknown): Promise<MimeBundle> {
  return (await toDisplayData(value)).bundle;
}

/** Node-style inspection without colours, as a REPL would print `value`. */
export function plainText(value: unknown): string {
  return inspect(value, { colors: false, depth: 4, maxArrayLength: 100, breakLength: 100 });
}

function withPlainText(value: unknown, rendered: unknown, metadata: DisplayMetadata | undefined): DisplayData {
  if (rendered === null || typeof rendered !== "object" || Array.isArray(rendered)) {
    throw new TypeError(
      `[Symbol.for("Jupyter.display")]() must return an object of MIME type → data, got ${inspect(rendered)}`,
    );
  }
  const bundle = rendered as Record<string, unknown>;
  const plain = bundle["text/plain"];
  const data: DisplayData = { bundle: { ...bundle, "text/plain": typeof plain === "string" ? plain : plainText(value) } };
  if (metadata !== undefined) data.metadata = metadata;
  return data;
}

function displayMetadata(value: object): DisplayMetadata | undefined {
  const method = (value as { [DISPLAY_METADATA]?: unknown })[DISPLAY_METADATA];
  if (typeof method !== "function") return undefined;
  const metadata: unknown = method.call(value);
  if (metadata === undefined) return undefined;
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
    throw new TypeError(
      `[Symbol.for("cluelab.display.metadata")]() must return an object of MIME type → metadata, got ${inspect(metadata)}`,
    );
  }
  return metadata as DisplayMetadata;
}
