/** TypeScript diagnostics as the kernel shows them: cell line and column, with a code frame. */
import type * as TS from "typescript";
import { ts } from "./ts.js";
import type { ErrorContent } from "../protocol/messages.js";

/** Diagnostics that do not stop a cell: an import of a package without types is typed `any`. */
export const WARNING_CODES = new Set([7016]);

export interface Located {
  /** 1-based, within the cell. */
  line: number;
  column: number;
  message: string;
  code: number;
  frame: string[];
}

/** Places a diagnostic in the cell's code (the cell is the start of its file). */
export function locate(diagnostic: TS.Diagnostic, code: string): Located {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
  const start = Math.min(diagnostic.start ?? code.length, code.length);
  const before = code.slice(0, start);
  const line = before.split("\n").length;
  const lineStart = before.lastIndexOf("\n") + 1;
  const column = start - lineStart + 1;
  const lines = code.split("\n");
  const text = (lines[line - 1] ?? "").replace(/\r$/, "");
  const width = Math.max(1, Math.min(diagnostic.length ?? 1, text.length - (column - 1)));
  const gutter = String(line).length;
  const frame = [`  ${line} | ${text}`, `  ${" ".repeat(gutter)} | ${" ".repeat(column - 1)}${"^".repeat(width)}`];
  return { line, column, message, code: diagnostic.code, frame };
}

/** The `error` output of a cell stopped by type errors. */
export function typeErrorContent(errors: Located[]): ErrorContent {
  const first = errors[0]!;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
  const traceback: string[] = [];
  for (const error of errors) {
    traceback.push(`TS${error.code} at line ${error.line}, column ${error.column}: ${error.message}`, ...error.frame);
  }
  return {
    ename: "TSError",
    evalue: `line ${first.line}, column ${first.column}: ${first.message}${more}`,
    traceback,
  };
}

/** A warning as a line of stderr. */
export function warningText(warning: Located): string {
  const typedAny = warning.code === 7016 ? " It is typed `any`." : "";
  return `warning TS${warning.code} at line ${warning.line}, column ${warning.column}: ${warning.message}${typedAny}\n`;
}

/**
 * The `error` output of a cell that declares a top-level name again in a way JavaScript refuses
 * (`let x` after `var x`): a SyntaxError, as the engine would throw, but saying what to do.
 */
export function redeclarationContent(conflicts: Array<{ start: number; length: number; message: string }>, code: string): ErrorContent {
  const located = conflicts.map(({ start, length, message }) =>
    locate({ category: ts.DiagnosticCategory.Error, code: 0, file: undefined, start, length, messageText: message }, code),
  );
  const first = located[0]!;
  const more = located.length > 1 ? ` (and ${located.length - 1} more)` : "";
  return {
    ename: "SyntaxError",
    evalue: `line ${first.line}, column ${first.column}: ${first.message}${more}`,
    traceback: located.flatMap((error) => [`SyntaxError at line ${error.line}, column ${error.column}: ${error.message}`, ...error.frame]),
  };
}
