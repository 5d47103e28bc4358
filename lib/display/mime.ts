import { inspect } from "node:util";
import {
  DISPLAY_METADATA,
  JUPYTER_DISPLAY,
  type DisplayableWithMetadata,
  type DisplayMetadata,
  type MimeBundle,
} from "./protocol.js";
import { htmlToText, toBase64, toJsonValue } from "./text.js";

/**
 * A ready MIME bundle (plus metadata) that displays itself: what {@link html}, {@link md},
 * {@link svg}, {@link png}, {@link json}, {@link image} and {@link table} return. Pass it to
 * `display`, or leave it as a cell's last expression. `console.log` prints its `text/plain`.
 */
export class Rich implements DisplayableWithMetadata {
  constructor(
    /** The MIME bundle shown; it always has `text/plain`. */
    readonly bundle: MimeBundle,
    /** Per-MIME-type metadata sent with it. */
    readonly metadata: DisplayMetadata = {},
  ) {}

  [JUPYTER_DISPLAY](): MimeBundle {
    return this.bundle;
  }

  [DISPLAY_METADATA](): DisplayMetadata {
    return this.metadata;
  }

  /** The `text/plain` form, so a Rich value reads well in a terminal too. */
  toString(): string {
    return this.bundle["text/plain"];
  }

  [inspect.custom](): string {
    return this.bundle["text/plain"];
  }
}

/** HTML, shown as such (`text/html`); its text without tags is the `text/plain` fallback. */
export function html(source: string): Rich {
  requireString(source, "html");
  const text = htmlToText(source);
  return new Rich({ "text/html": source, "text/plain": text === "" ? "[HTML]" : text });
}

/** Markdown (`text/markdown`), rendered by the frontend; the source is the `text/plain` fallback. */
export function md(source: string): Rich {
  requireString(source, "md");
  return new Rich({ "text/markdown": source, "text/plain": source });
}

/** An SVG image (`image/svg+xml`) given as its XML source. */
export function svg(source: string): Rich {
  requireString(source, "svg");
  if (!/<svg[\s>]/i.test(source)) {
    throw new TypeError(`svg(): expected SVG markup containing an <svg> element, got ${inspect(source.slice(0, 60))}`);
  }
  const size = /<svg\b[^>]*?\bwidth="([^"]+)"[^>]*?\bheight="([^"]+)"/i.exec(source);
  return new Rich({ "image/svg+xml": source, "text/plain": size ? `[SVG image ${size[1]}×${size[2]}]` : "[SVG image]" });
}

/** Display size of an image, in CSS pixels (the data keeps its own resolution). */
export interface ImageSize {
  width?: number;
  height?: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * A PNG image (`image/png`) from its bytes or their base64. `width`/`height` set the displayed
 * size (the frontend scales the image); the pixels are not touched.
 */
export function png(data: Uint8Array | string, size: ImageSize = {}): Rich {
  const bytes = typeof data === "string" ? fromBase64(data) : data;
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`png(): expected the PNG file's bytes (Uint8Array) or their base64 string, got ${inspect(data)}`);
  }
  if (bytes.length < 24 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new TypeError(
      "png(): the data is not a PNG file (it does not start with the PNG signature 89 50 4E 47 0D 0A 1A 0A); " +
        "for raw pixels use image(pixels, { width, height, channels })",
    );
  }
  // IHDR is the first chunk: width and height are big-endian at bytes 16 and 20.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const metadata: Record<string, number> = {};
  for (const key of ["width", "height"] as const) {
    const v = size[key];
    if (v === undefined) continue;
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`png(): ${key} must be a positive number of pixels, got ${v}`);
    metadata[key] = v;
  }
  return new Rich(
    { "image/png": toBase64(bytes), "text/plain": `[PNG image ${width}×${height}]` },
    Object.keys(metadata).length > 0 ? { "image/png": metadata } : {},
  );
}

/**
 * JSON data (`application/json`), shown by frontends as a collapsible tree; indented JSON is the
 * `text/plain` fallback. Typed arrays become arrays; values JSON cannot hold are an error.
 */
export function json(value: unknown): Rich {
  const data = toJsonValue(value, "json()");
  return new Rich({ "application/json": data, "text/plain": JSON.stringify(data, null, 2) });
}

function requireString(value: unknown, fn: string): asserts value is string {
  if (typeof value !== "string") throw new TypeError(`${fn}(): expected a string, got ${inspect(value)}`);
}

function fromBase64(text: string): Uint8Array {
  const compact = text.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    throw new TypeError("png(): a string must be the base64 of a PNG file (it contains characters base64 does not use)");
  }
  return new Uint8Array(Buffer.from(compact, "base64"));
}
