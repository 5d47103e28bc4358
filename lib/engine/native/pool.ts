/**
 * Recycles the large output buffers of native kernels. A fresh large ArrayBuffer costs a page
 * fault per 4 KiB on first touch (measured here: ~45–90 ms to allocate and fill 64 MiB, against
 * 8–15 ms to fill one already mapped); a training step frees and re-allocates the same sizes every
 * step, so a buffer returned here is handed to the next kernel asking for that size.
 *
 * A buffer is recycled only when no tensor can still see it: every tensor storing a view of it is
 * counted (views of one buffer, as a contiguous slice makes, count separately), and a buffer whose
 * values were handed out to user code (`dataSync`, `data`) is never recycled.
 *
 * When the pool is full, the buffers freed longest ago make room for a newly freed one: after one
 * model (other sizes) a second one trains from a pool of its own sizes, not from fresh pages.
 */
export class BufferPool {
  /** Free buffers by exact byte length, most recently freed last. */
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** Pooled buffers in use → how many stored tensors view them. */
  private readonly users = new WeakMap<ArrayBuffer, number>();
  /** Every free buffer, least recently freed first (a Set keeps insertion order). */
  private readonly byAge = new Set<ArrayBuffer>();
  private freeBytes = 0;
  /** Buffers handed out and later recycled: how often allocation was avoided. */
  hits = 0;
  misses = 0;
  /** Free buffers dropped to make room for newer ones. */
  evictions = 0;

  /**
   * @param limitBytes most bytes kept while unused; beyond it freed buffers go to the garbage collector.
   * @param minBytes smaller requests are plain allocations (cheap, and not worth tracking).
   */
  constructor(
    readonly limitBytes: number,
    readonly minBytes = 64,
  ) {}

  /** A buffer of exactly `bytes` bytes, uninitialised (a recycled one holds old values). */
  take(bytes: number): ArrayBuffer {
    if (bytes < this.minBytes) return new ArrayBuffer(bytes);
    const stack = this.free.get(bytes);
    const recycled = stack?.pop();
    if (recycled) {
      this.byAge.delete(recycled);
      this.freeBytes -= bytes;
      this.hits++;
      this.users.set(recycled, 0);
      return recycled;
    }
    this.misses++;
    const fresh = new ArrayBuffer(bytes);
    this.users.set(fresh, 0);
    return fresh;
  }

  /** A tensor now stores a view of `buffer`. */
  retain(buffer: ArrayBufferLike): void {
    const n = this.users.get(buffer as ArrayBuffer);
    if (n !== undefined) this.users.set(buffer as ArrayBuffer, n + 1);
  }

  /** A tensor storing a view of `buffer` was disposed; the last one returns it to the pool. */
  release(buffer: ArrayBufferLike): void {
    const b = buffer as ArrayBuffer;
    const n = this.users.get(b);
    if (n === undefined) return;
    if (n > 1) {
      this.users.set(b, n - 1);
      return;
    }
    this.users.delete(b);
    if (b.byteLength > this.limitBytes) return;
    this.evictUntil(this.limitBytes - b.byteLength);
    let stack = this.free.get(b.byteLength);
    if (!stack) this.free.set(b.byteLength, (stack = []));
    stack.push(b);
    this.byAge.add(b);
    this.freeBytes += b.byteLength;
  }

  /** Drops the free buffers freed longest ago until at most `bytes` bytes stay free. */
  private evictUntil(bytes: number): void {
    for (const old of this.byAge) {
      if (this.freeBytes <= bytes) return;
      const size = old.byteLength;
      // Within one size the stack is in freeing order too: its oldest buffer is at the bottom.
      const stack = this.free.get(size)!;
      stack.shift();
      if (stack.length === 0) this.free.delete(size);
      this.byAge.delete(old);
      this.freeBytes -= size;
      this.evictions++;
    }
  }

  /**
   * How many stored tensors view `buffer`, or undefined when the pool does not track it (smaller
   * than `minBytes`, not taken from the pool, or handed out to user code).
   */
  viewers(buffer: ArrayBufferLike): number | undefined {
    return this.users.get(buffer as ArrayBuffer);
  }

  /** User code holds a view of `buffer`: it is never recycled. */
  escape(buffer: ArrayBufferLike): void {
    this.users.delete(buffer as ArrayBuffer);
  }

  /** Drops every free buffer (the garbage collector reclaims them). */
  clear(): void {
    this.free.clear();
    this.byAge.clear();
    this.freeBytes = 0;
  }

  stats(): { freeBytes: number; hits: number; misses: number; evictions: number } {
    return { freeBytes: this.freeBytes, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }
}
