/** Small text helpers shared by the displayables: HTML escaping and safe embedding in scripts. */

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes `text` for use in HTML text and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * JSON for an inline `<script>`: `<` is escaped so the data can never close the script element
 * (`</script>`) or open a comment, and U+2028/U+2029 so older engines parse it as a string.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/**
 * The readable text of an HTML fragment, for the `text/plain` fallback of HTML outputs: tags are
 * dropped (block-level ones end a line), the common entities decoded, blank runs collapsed.
 */
export function htmlToText(html: string): string {
  const text = html
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, "")
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<\/(p|div|li|tr|h[1-6]|table|ul|ol|pre|blockquote)\s*>/gi, "\n")
    .replace(/<[^>]*>/g, "")
    .replace(/&(lt|gt|quot|#39|nbsp|amp);/g, (_, e: string) => ({ lt: "<", gt: ">", quot: '"', "#39": "'", nbsp: " ", amp: "&" })[e]!);
  return text
    .split("\n")
    .map((line) => line.replace(/[ \t]+/g, " ").trim())
    .filter((line, i, lines) => line !== "" || (i > 0 && lines[i - 1] !== ""))
    .join("\n")
    .trim();
}

/**
 * A JSON-safe copy of `value`: typed arrays become plain arrays (JSON.stringify would turn them
 * into objects keyed by index), bigints numbers, dates ISO strings, non-finite numbers null.
 * Throws a clear error for values JSON cannot hold (cycles).
 */
export function toJsonValue(value: unknown, what: string): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, (_key, v: unknown) => {
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number | bigint>, Number);
      if (typeof v === "bigint") return Number(v);
      return v;
    });
  } catch (error) {
    throw new TypeError(`${what} cannot be sent as JSON: ${(error as Error).message}`);
  }
  if (text === undefined) throw new TypeError(`${what} cannot be sent as JSON: got ${typeof value}`);
  return JSON.parse(text);
}

/** Base64 of bytes. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}
