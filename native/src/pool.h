// cluelab's thread pool. Work is split into chunks that the calling thread and the workers claim
// one at a time, and the caller never waits for a worker that has not started: on a busy machine
// (other processes on the cores, a laptop's browser) a descheduled worker costs nothing, where a
// fork-join barrier (OpenMP) stalls every parallel region until that thread runs again.
// oneDNN runs single-threaded inside each chunk.
#pragma once
#include <cstdint>

namespace clue {

using ChunkFn = void (*)(void* ctx, int64_t begin, int64_t end, int chunkIndex);

/** Threads in the pool, the caller included. */
int poolThreads();
/** Resizes the pool (1 = everything on the calling thread). */
void setPoolThreads(int n);
/**
 * Calls fn(ctx, b, e, i) for the i-th of `chunks` equal pieces [b, e) of [0, n), on the caller
 * and the workers; returns when all are done. Not reentrant: a chunk must not call run().
 */
void runChunks(int64_t n, int64_t chunks, ChunkFn fn, void* ctx);
/** Whether the current thread is inside runChunks (nested parallel loops run serially). */
bool inPool();

}  // namespace clue
