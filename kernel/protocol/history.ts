/**
 * Execution history kept across kernel restarts: one JSON line per executed cell in
 * `<Jupyter data dir>/cluelab/history.jsonl`, answering `history_request` (tail, range, search).
 */
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { homedir, platform } from "node:os";
import { dirname, join } from "node:path";
import type { HistoryRequest } from "./messages.js";
import type { History } from "./core.js";

interface Entry {
  s: number;
  l: number;
  i: string;
  o: string | null;
}

type Row = [number, number, string | [string, string | null]];

/** Jupyter's user data folder, as jupyter_core computes it (JUPYTER_DATA_DIR wins). */
export function jupyterDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.JUPYTER_DATA_DIR) return env.JUPYTER_DATA_DIR;
  if (platform() === "darwin") return join(homedir(), "Library", "Jupyter");
  if (platform() === "win32") return join(env.APPDATA ?? join(homedir(), "AppData", "Roaming"), "jupyter");
  return join(env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "jupyter");
}

/** Most entries kept in memory (and answered from); older lines stay in the file. */
const MAX_ENTRIES = 50_000;

export class FileHistory implements History {
  readonly session: number;
  private readonly entries: Entry[] = [];
  private writable = true;

  /**
   * Opens (or creates) the history file. A file that cannot be read or written leaves the
   * kernel working with an in-memory history; `log` says why.
   */
  constructor(
    private readonly path: string,
    private readonly log: (line: string) => void = () => {},
  ) {
    let maxSession = 0;
    let text = "";
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") log(`history: cannot read ${path}: ${(error as Error).message}`);
    }
    for (const line of text.split("\n")) {
      if (!line) continue;
      try {
        const entry = JSON.parse(line) as Partial<Entry> & { start?: string };
        if (typeof entry.s !== "number") continue;
        maxSession = Math.max(maxSession, entry.s);
        if (typeof entry.l === "number" && typeof entry.i === "string") {
          this.entries.push({ s: entry.s, l: entry.l, i: entry.i, o: typeof entry.o === "string" ? entry.o : null });
        }
      } catch {
        // A torn line (a kernel killed mid-write) is skipped, not fatal.
      }
    }
    if (this.entries.length > MAX_ENTRIES) this.entries.splice(0, this.entries.length - MAX_ENTRIES);
    this.session = maxSession + 1;
    // Claim the session number at once so a kernel started next to this one picks another.
    this.write({ s: this.session, start: new Date().toISOString() });
  }

  append(line: number, input: string, output: string | null): void {
    const entry: Entry = { s: this.session, l: line, i: input, o: output };
    this.entries.push(entry);
    if (this.entries.length > MAX_ENTRIES) this.entries.shift();
    this.write(entry);
  }

  query(request: HistoryRequest): Row[] {
    const output = request.output === true;
    const row = (e: Entry): Row => [e.s, e.l, output ? [e.i, e.o] : e.i];
    switch (request.hist_access_type) {
      case "tail": {
        const n = positive(request.n, 10);
        return this.entries.slice(-n).map(row);
      }
      case "range": {
        const requested = typeof request.session === "number" ? request.session : 0;
        // IPython's convention: 0 is this session, negative numbers count back from it.
        const session = requested > 0 ? requested : this.session + requested;
        const start = typeof request.start === "number" ? request.start : 1;
        const stop = typeof request.stop === "number" ? request.stop : Infinity;
        return this.entries.filter((e) => e.s === session && e.l >= start && e.l < stop).map(row);
      }
      case "search": {
        const regex = globToRegExp(typeof request.pattern === "string" ? request.pattern : "*");
        let found = this.entries.filter((e) => regex.test(e.i));
        if (request.unique === true) {
          const seen = new Set<string>();
          found = found.reverse().filter((e) => !seen.has(e.i) && seen.add(e.i)).reverse();
        }
        if (typeof request.n === "number" && request.n > 0) found = found.slice(-request.n);
        return found.map(row);
      }
      default:
        return [];
    }
  }

  private write(record: object): void {
    if (!this.writable) return;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      appendFileSync(this.path, JSON.stringify(record) + "\n");
    } catch (error) {
      this.writable = false;
      this.log(`history: cannot write ${this.path}: ${(error as Error).message}; keeping this session's history in memory`);
    }
  }
}

function positive(value: unknown, fallback: number): number {
  return typeof value === "number" && value > 0 ? Math.floor(value) : fallback;
}

/** SQLite GLOB semantics (IPython's history search): `*`, `?`, `[…]`, matching the whole input. */
export function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") source += "[\\s\\S]*";
    else if (c === "?") source += "[\\s\\S]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) source += "\\[";
      else {
        let body = pattern.slice(i + 1, end);
        if (body.startsWith("^")) body = "^" + body.slice(1).replace(/[\\\]]/g, "\\$&");
        else body = body.replace(/[\\\]^]/g, "\\$&");
        source += `[${body}]`;
        i = end;
      }
    } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}
