/**
 * `is_complete`: whether a frontend should run the code on Enter or ask for another line.
 * Syntax only (the parser, no type checker), so it is answered at once, even while the type
 * checker is still warming up — jupyter-console waits one second for it, then gives up on it.
 */
import type * as TS from "typescript";
import type { IsCompleteReply } from "../protocol/messages.js";
import { ts } from "./ts.js";

const UNTERMINATED_TEMPLATE = 1160;
const UNTERMINATED_COMMENT = 1010;
const UNTERMINATED_STRING = 1002;

function parseDiagnostics(file: TS.SourceFile): readonly TS.Diagnostic[] {
  // What the language service's getSyntacticDiagnostics returns for a parsed file.
  return (file as TS.SourceFile & { parseDiagnostics?: TS.Diagnostic[] }).parseDiagnostics ?? [];
}

export function isComplete(code: string): IsCompleteReply {
  if (code.trim() === "") return { status: "complete" };
  const file = ts.createSourceFile("cell.mts", code, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const diagnostics = parseDiagnostics(file);
  if (diagnostics.length === 0) return { status: "complete" };
  const end = code.trimEnd().length;
  // The parser ran out of code (an open bracket, template or comment): more lines may finish it.
  // A string cannot continue on the next line, and an error before the end stays an error.
  const atEnd = diagnostics.every(
    (d) => d.code !== UNTERMINATED_STRING && ((d.start ?? 0) >= end || d.code === UNTERMINATED_TEMPLATE || d.code === UNTERMINATED_COMMENT),
  );
  if (!atEnd) return { status: "invalid" };
  const lastLine = code.trimEnd().split("\n").at(-1) ?? "";
  const indent = /^\s*/.exec(lastLine)![0] + (/[{([]\s*$/.test(lastLine) ? "  " : "");
  return { status: "incomplete", indent };
}
