// The thread pool (pool.h) as loops, and vectorisable math used by the kernels.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "pool.h"

// Hot loops get AVX-512 / AVX2 clones chosen at load time, so one build runs on any x86-64.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CLUE_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLUE_HOT
#endif

namespace clue {

/** Elements per chunk below which elementwise loops stay on one thread. */
constexpr int64_t kGrain = 1 << 15;

/**
 * Calls f(begin, end, chunk) for `chunks` pieces of [0, n) spread over the pool; a chunk index
 * lets a reduction keep one partial result per chunk (deterministic, whichever thread ran it).
 */
template <class F>
inline void parallel_chunks(int64_t n, int64_t chunks, F&& f) {
  if (n <= 0) return;
  chunks = std::max<int64_t>(1, std::min(chunks, n));
  runChunks(n, chunks, [](void* ctx, int64_t b, int64_t e, int i) { (*static_cast<F*>(ctx))(b, e, int64_t(i)); }, &f);
}

/** How many chunks a loop of n items, each chunk at least `grain`, is cut into. */
inline int64_t chunksFor(int64_t n, int64_t grain) {
  if (inPool()) return 1;
  int64_t byGrain = (n + std::max<int64_t>(grain, 1) - 1) / std::max<int64_t>(grain, 1);
  return std::max<int64_t>(1, std::min<int64_t>(byGrain, 4 * poolThreads()));
}

/** Runs f(begin, end) over [0, n) on the pool; one call when n is below `grain`. */
template <class F>
inline void parallel_for(int64_t n, int64_t grain, F&& f) {
  if (n <= 0) return;
  int64_t chunks = chunksFor(n, grain);
  if (chunks == 1) {
    f(int64_t(0), n);
    return;
  }
  parallel_chunks(n, chunks, [&](int64_t b, int64_t e, int64_t) { f(b, e); });
}

// exp(x) = 2^n · p for finite x: n = round(x / ln 2), and p, Cephes' degree-6 polynomial in the
// remainder (~1 ulp). The exp functions below differ in how they range-limit x and form 2^n.
inline float expMantissa(float x, float& n) {
  n = std::nearbyint(x * 1.44269504088896341f);
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return p * r * r + r + 1.0f;
}

// exp with a Cephes-style range reduction and degree-6 polynomial: ~1 ulp, branch-free so loops
// vectorise; NaN passes through, overflow gives inf and underflow 0 like expf.
inline float fexp(float x) {
  const float hi = 88.7228f, lo = -103.972f;
  float xc = std::min(std::max(x, lo), hi);
  float n;
  float p = expMantissa(xc, n);
  // 2^n in two halves so n down to -150 (denormal results) stays representable.
  int32_t ni = int32_t(n);
  int32_t n1 = ni / 2, n2 = ni - n1;
  float s1, s2;
  int32_t b1 = (n1 + 127) << 23, b2 = (n2 + 127) << 23;
  std::memcpy(&s1, &b1, 4);
  std::memcpy(&s2, &b2, 4);
  float y = p * s1 * s2;
  y = x > hi ? INFINITY : y;
  y = x < lo ? 0.0f : y;
  return x != x ? x : y;
}

// erf as Eigen (and so TensorFlow) computes it in float: x·P(x²)/Q(x²) on [-4, 4], ±1 beyond.
inline float ferf(float x) {
  float xc = std::min(std::max(x, -4.0f), 4.0f);
  float x2 = xc * xc;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 + -2.10102402082508e-06f;
  p = p * x2 + -5.69250639462346e-05f;
  p = p * x2 + -7.34990630326855e-04f;
  p = p * x2 + -2.95459980854025e-03f;
  p = p * x2 + -1.60960333262415e-02f;
  float q = -1.45660718464996e-05f;
  q = q * x2 + -2.13374055278905e-04f;
  q = q * x2 + -1.68282697438203e-03f;
  q = q * x2 + -7.37332916720468e-03f;
  q = q * x2 + -1.42647390514189e-02f;
  float y = xc * p / q;
  return x != x ? x : y;
}

inline float fsigmoid(float x) { return 1.0f / (1.0f + fexp(-x)); }

// tanh as Eigen computes it in float: x·P(x²)/Q(x²) clamped to ±7.9, x itself below 4e-4.
inline float ftanh(float x) {
  float xc = std::min(std::max(x, -7.90531110763549805f), 7.90531110763549805f);
  float x2 = xc * xc;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  float y = xc * p / q;
  y = std::fabs(x) < 0.0004f ? x : y;
  return x != x ? x : y;
}

}  // namespace clue
