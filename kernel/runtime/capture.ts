/**
 * Captures what user code (and the libraries it calls) writes to `process.stdout` and
 * `process.stderr` — `console.log` included — and hands it on as `stream` outputs.
 *
 * Writes are batched only when they come fast: text written when nothing went out for
 * `intervalMs` goes at once (so "starting…" printed before long synchronous work shows before
 * it, as no timer can fire during it); later text of a burst goes out together, at the latest
 * after `intervalMs` (checked on every write, and by a timer), or when another output must keep
 * its place after it (callers `flush()` first).
 */
import { StringDecoder } from "node:string_decoder";

export type StreamName = "stdout" | "stderr";

export class OutputCapture {
  private name: StreamName | undefined;
  private text = "";
  private since = 0;
  private lastFlush = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private readonly decoders = { stdout: new StringDecoder("utf8"), stderr: new StringDecoder("utf8") };

  constructor(
    private readonly emit: (name: StreamName, text: string) => void,
    private readonly intervalMs = 50,
    private readonly maxBatch = 64 * 1024,
  ) {}

  /** Replaces `write` on both process streams. */
  install(): void {
    for (const name of ["stdout", "stderr"] as const) {
      const stream = process[name];
      stream.write = ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
        const done = typeof encoding === "function" ? encoding : callback;
        this.write(name, chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : undefined);
        if (typeof done === "function") queueMicrotask(() => (done as () => void)());
        return true;
      }) as typeof stream.write;
    }
  }

  write(name: StreamName, chunk: unknown, encoding?: BufferEncoding): void {
    let text: string;
    if (typeof chunk === "string") text = encoding && encoding !== "utf8" && encoding !== "utf-8" ? Buffer.from(chunk, encoding).toString("utf8") : chunk;
    else if (chunk instanceof Uint8Array) text = this.decoders[name].write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    else text = String(chunk);
    if (text === "") return;
    if (this.name !== name) this.flush();
    if (this.text === "") this.since = performance.now();
    this.name = name;
    this.text += text;
    const now = performance.now();
    if (this.text.length >= this.maxBatch || now - this.since >= this.intervalMs || now - this.lastFlush >= this.intervalMs) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  /** Sends what is batched now. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.text === "" || !this.name) return;
    const { name, text } = this;
    this.text = "";
    this.lastFlush = performance.now();
    this.emit(name, text);
  }
}
