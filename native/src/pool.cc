#include "pool.h"

#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void relax() { _mm_pause(); }
#else
static inline void relax() {}
#endif

namespace clue {

namespace {

struct Job {
  std::atomic<int64_t> next{0};
  int64_t n = 0, chunks = 0;
  ChunkFn fn = nullptr;
  void* ctx = nullptr;
  std::atomic<bool> failed{false};
  std::exception_ptr error;  // the first chunk's exception, written by whoever set `failed`
};

thread_local bool insidePool = false;

// Spins this long waiting for work before sleeping: consecutive kernels start within
// microseconds, so a short spin saves a futex wake-up each time.
constexpr int kSpins = 20000;

void work(Job* job) {
  insidePool = true;
  for (;;) {
    int64_t i = job->next.fetch_add(1);
    if (i >= job->chunks) break;
    int64_t b = job->n * i / job->chunks, e = job->n * (i + 1) / job->chunks;
    try {
      if (b < e) job->fn(job->ctx, b, e, int(i));
    } catch (...) {
      if (!job->failed.exchange(true)) job->error = std::current_exception();
    }
  }
  insidePool = false;
}

class Pool {
 public:
  Pool() {
    unsigned hw = std::thread::hardware_concurrency();
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) hw = unsigned(CPU_COUNT(&set));
    omp_set_num_threads(1);  // oneDNN and any OpenMP loop run on one thread inside a chunk
    resize(int(std::max(1u, hw)));
  }
  ~Pool() { stopWorkers(); }

  int threads() const { return int(workers_.size()) + 1; }

  void resize(int n) {
    stopWorkers();
    stop_ = false;
    for (int i = 1; i < n; i++) workers_.emplace_back([this] { loop(); });
  }

  void run(int64_t n, int64_t chunks, ChunkFn fn, void* ctx) {
    Job job;
    job.n = n;
    job.chunks = chunks;
    job.fn = fn;
    job.ctx = ctx;
    current_.store(&job);
    epoch_.fetch_add(1);
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
    work(&job);
    current_.store(nullptr);
    // Wait only for chunks a worker has already claimed.
    for (int spins = 0; active_.load() != 0; spins++) {
      if (spins < 1000) relax();
      else sched_yield();
    }
    if (job.failed) std::rethrow_exception(job.error);
  }

 private:
  void loop() {
    omp_set_num_threads(1);
    uint64_t seen = epoch_.load();
    for (;;) {
      int spins = 0;
      while (epoch_.load() == seen && !stop_.load()) {
        if (++spins < kSpins) {
          relax();
          continue;
        }
        std::unique_lock<std::mutex> lock(mutex_);
        sleepers_.fetch_add(1);
        wake_.wait(lock, [&] { return epoch_.load() != seen || stop_.load(); });
        sleepers_.fetch_sub(1);
      }
      if (stop_.load()) return;
      seen = epoch_.load();
      active_.fetch_add(1);
      Job* job = current_.load();
      if (job) work(job);
      active_.fetch_sub(1);
    }
  }

  void stopWorkers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      wake_.notify_all();
    }
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::atomic<Job*> current_{nullptr};
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int> active_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

int poolThreads() { return pool().threads(); }
void setPoolThreads(int n) { pool().resize(n); }
bool inPool() { return insidePool; }

/** Runs every chunk on the calling thread, marked as inside the pool (so nested loops stay serial). */
static void runSerial(int64_t n, int64_t chunks, ChunkFn fn, void* ctx) {
  bool was = insidePool;
  insidePool = true;
  try {
    for (int64_t i = 0; i < chunks; i++) {
      int64_t b = n * i / chunks, e = n * (i + 1) / chunks;
      if (b < e) fn(ctx, b, e, int(i));
    }
  } catch (...) {
    insidePool = was;
    throw;
  }
  insidePool = was;
}

void runChunks(int64_t n, int64_t chunks, ChunkFn fn, void* ctx) {
  if (chunks <= 1 || insidePool || pool().threads() == 1) {
    runSerial(n, chunks, fn, ctx);
    return;
  }
  // One caller at a time uses the workers (two JavaScript threads may both run kernels); a
  // second one meanwhile runs its chunks itself.
  static std::mutex callers;
  std::unique_lock<std::mutex> lock(callers, std::try_to_lock);
  if (!lock.owns_lock()) {
    runSerial(n, chunks, fn, ctx);
    return;
  }
  pool().run(n, chunks, fn, ctx);
}

}  // namespace clue
