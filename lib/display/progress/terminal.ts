/** A progress line on a terminal (stderr), for scripts and the CLI: no kernel attached. */

/** At most one line this often on a stream that is not a terminal (a log file, a CI log). */
export const NON_TTY_INTERVAL_MS = 2000;

/**
 * Redraws one line in place on a TTY (carriage return, erase to the end of the line); elsewhere
 * appends a full line at most every {@link NON_TTY_INTERVAL_MS}, so logs stay readable.
 */
export class TerminalLine {
  #lastWrite = -Infinity;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  render(line: string, final: boolean): void {
    if (this.stream.isTTY) {
      this.stream.write(`\r${line}\x1b[K${final ? "\n" : ""}`);
      return;
    }
    const now = performance.now();
    if (!final && now - this.#lastWrite < NON_TTY_INTERVAL_MS) return;
    this.#lastWrite = now;
    this.stream.write(line + "\n");
  }
}
