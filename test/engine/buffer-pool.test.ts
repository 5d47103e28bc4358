import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BufferPool } from "../../lib/engine/native/pool.js";

/** A buffer as a kernel output: taken from the pool and viewed by one tensor. */
function used(pool: BufferPool, bytes: number): ArrayBuffer {
  const b = pool.take(bytes);
  pool.retain(b);
  return b;
}

describe("BufferPool", () => {
  it("hands a freed buffer to the next request of the same size", () => {
    const pool = new BufferPool(1000);
    const a = used(pool, 400);
    pool.release(a);
    assert.equal(pool.take(400), a);
    assert.deepEqual(pool.stats(), { freeBytes: 0, hits: 1, misses: 1, evictions: 0 });
  });

  it("when full, drops the buffers freed longest ago to keep the newest", () => {
    const pool = new BufferPool(1000);
    const [a, b, c] = [used(pool, 400), used(pool, 400), used(pool, 600)];
    pool.release(a);
    pool.release(b);
    pool.release(c); // 1400 > 1000: a (the oldest) goes
    assert.equal(pool.stats().freeBytes, 1000);
    assert.equal(pool.stats().evictions, 1);
    assert.equal(pool.take(400), b);
    assert.equal(pool.take(600), c);
    assert.notEqual(pool.take(400), a, "an evicted buffer is never handed out again");
  });

  it("a second model's sizes replace the first's instead of missing forever", () => {
    const pool = new BufferPool(1000);
    const first = Array.from({ length: 10 }, () => used(pool, 100));
    first.forEach((b) => pool.release(b)); // the pool is full of 100-byte buffers
    const second = Array.from({ length: 5 }, () => used(pool, 200));
    second.forEach((b) => pool.release(b));
    const missesBefore = pool.stats().misses;
    const again = Array.from({ length: 5 }, () => used(pool, 200));
    assert.equal(pool.stats().misses, missesBefore, "every 200-byte request was served from the pool");
    assert.deepEqual(new Set(again), new Set(second));
  });

  it("keeps nothing larger than its limit, and never a buffer still viewed or escaped", () => {
    const pool = new BufferPool(1000);
    const big = used(pool, 2000);
    pool.release(big);
    assert.equal(pool.stats().freeBytes, 0);
    const shared = used(pool, 500);
    pool.retain(shared); // a second tensor views it
    pool.release(shared);
    assert.equal(pool.stats().freeBytes, 0, "one view remains");
    const escaped = used(pool, 500);
    pool.escape(escaped);
    pool.release(escaped);
    assert.equal(pool.stats().freeBytes, 0);
  });
});
