import { inspect } from "node:util";
import { Rich } from "./mime.js";
import { escapeHtml } from "./text.js";

/** A table row: an object (columns by key) or an array (columns by position). */
export type TableRow = Readonly<Record<string, unknown>> | readonly unknown[];

/** Options of {@link table}. */
export interface TableOptions {
  /**
   * Columns, in order. For object rows these are the keys to show (default: every key, in order
   * of first appearance); for array rows, the headers of the positions (default: 0, 1, …).
   */
  columns?: readonly string[];
}

/**
 * A table (`text/html`, with aligned `text/plain` for terminals) from rows of objects or arrays.
 * Numbers are right-aligned and shown with up to 6 significant digits.
 *
 * @example
 * display(table([{ model: "CLUENet-T", params: 5.5e6, top1: 0.779 }, { model: "CoC-T", params: 5.6e6, top1: 0.764 }]));
 */
export function table(rows: readonly TableRow[], options: TableOptions = {}): Rich {
  if (!Array.isArray(rows)) throw new TypeError(`table(): expected an array of rows, got ${inspect(rows)}`);
  rows.forEach((row, i) => {
    if (row === null || typeof row !== "object") throw new TypeError(`table(): row ${i} is ${inspect(row)}, not an object or an array`);
  });
  const byPosition = rows.length > 0 && rows.every((r) => Array.isArray(r));
  const headers = options.columns ?? defaultColumns(rows, byPosition);
  const cells = rows.map((row) =>
    headers.map((header, i) => (byPosition ? (row as readonly unknown[])[i] : (row as Record<string, unknown>)[header])),
  );
  const text = cells.map((row) => row.map(formatCell));
  const numeric = headers.map((_, c) => cells.length > 0 && cells.every((row) => row[c] === undefined || row[c] === null || typeof row[c] === "number"));
  return new Rich({ "text/html": tableHtml(headers, text, numeric), "text/plain": tablePlain(headers, text, numeric, rows.length) });
}

function defaultColumns(rows: readonly TableRow[], byPosition: boolean): string[] {
  if (byPosition) {
    const width = Math.max(0, ...rows.map((r) => (r as readonly unknown[]).length));
    return Array.from({ length: width }, (_, i) => String(i));
  }
  const keys = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) keys.add(key);
  return [...keys];
}

function formatCell(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number") return Number.isInteger(value) || !Number.isFinite(value) ? String(value) : String(Number(value.toPrecision(6)));
  return inspect(value, { colors: false, depth: 2, breakLength: Infinity });
}

function tableHtml(headers: readonly string[], rows: readonly string[][], numeric: readonly boolean[]): string {
  const align = (c: number) => (numeric[c] ? ' style="text-align:right"' : ' style="text-align:left"');
  const head = headers.map((h, c) => `<th${align(c)}>${escapeHtml(h)}</th>`).join("");
  const body = rows.map((row) => `<tr>${row.map((v, c) => `<td${align(c)}>${escapeHtml(v)}</td>`).join("")}</tr>`).join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function tablePlain(headers: readonly string[], rows: readonly string[][], numeric: readonly boolean[], count: number): string {
  if (headers.length === 0) return `[table: ${count} rows, no columns]`;
  rows = rows.map((row) => row.map((v) => v.replace(/\s*\n\s*/g, " ")));
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (values: readonly string[]) =>
    values.map((v, c) => (numeric[c] ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join("  ").trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
