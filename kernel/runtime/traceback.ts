/**
 * Errors as Jupyter shows them: name, message and a traceback whose frames in cells point at
 * the cell's TypeScript lines (through the compiler's source map), without the kernel's frames.
 */
import { SourceMap } from "node:module";
import { inspect } from "node:util";
import type { ErrorContent } from "../protocol/messages.js";

/** The source URL a compiled cell runs under (see Runtime). */
export function cellUrl(cell: number): string {
  return `cluelab-cell-${cell}.js`;
}

const CELL_FRAME = /cluelab-cell-(\d+)\.js:(\d+):(\d+)/;

export class CellMaps {
  private readonly maps = new Map<number, { map: SourceMap | undefined; executionCount: number }>();

  add(cell: number, executionCount: number, sourceMap: string): void {
    let map: SourceMap | undefined;
    try {
      map = sourceMap ? new SourceMap(JSON.parse(sourceMap)) : undefined;
    } catch {
      map = undefined;
    }
    this.maps.set(cell, { map, executionCount });
  }

  /** `cell [3], line 2, column 7` for a position in compiled cell `cell` (1-based line/column). */
  describe(cell: number, line: number, column: number): string {
    const entry = this.maps.get(cell);
    if (!entry) return `cell, line ${line}, column ${column}`;
    const found = entry.map?.findEntry(line - 1, column - 1) as { originalLine?: number; originalColumn?: number } | undefined;
    const at = found?.originalLine !== undefined ? `line ${found.originalLine + 1}, column ${found.originalColumn! + 1}` : `line ${line}, column ${column}`;
    return `cell [${entry.executionCount}], ${at}`;
  }

  /**
   * The frames of a stack, cell frames mapped. What lies below the outermost cell frame is the
   * kernel's machinery that started the cell (never the user's), so it is cut off.
   */
  frames(stack: string): string[] {
    let lines = stack.split("\n").filter((line) => /^\s+at /.test(line));
    const outermost = lines.findLastIndex((line) => CELL_FRAME.test(line));
    if (outermost >= 0) lines = lines.slice(0, outermost + 1);
    return lines
      .filter((line) => !isKernelFrame(line))
      .map((line) => line.replace(CELL_FRAME, (_, cell: string, l: string, c: string) => this.describe(Number(cell), Number(l), Number(c))));
  }

  /** ename / evalue / traceback of a thrown value. */
  error(thrown: unknown): ErrorContent {
    if (thrown instanceof Error || (typeof thrown === "object" && thrown !== null && "stack" in thrown && "message" in thrown)) {
      const error = thrown as Error;
      const name = typeof error.name === "string" && error.name ? error.name : "Error";
      const message = typeof error.message === "string" ? error.message : String(error.message);
      const frames = typeof error.stack === "string" ? this.frames(error.stack) : [];
      const cause = error.cause !== undefined ? [`  [cause]: ${inspect(error.cause, { colors: false, depth: 2 })}`] : [];
      return { ename: name, evalue: message, traceback: [`${name}: ${message}`, ...frames, ...cause] };
    }
    const shown = inspect(thrown, { colors: false, depth: 4 });
    return { ename: "Uncaught", evalue: shown, traceback: [`Uncaught ${shown}`] };
  }
}

const KERNEL_DIR = new URL("..", import.meta.url).pathname;

function isKernelFrame(line: string): boolean {
  return line.includes("node:inspector") || line.includes(KERNEL_DIR) || line.includes("node:internal/process/task_queues");
}
