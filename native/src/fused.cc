// Fused kernels behind cluelab's engine-level ops (lib/engine/fused): layer normalisation over
// the last axis and the exact (erf) GELU, forward and backward, each one pass over memory
// instead of the ten-odd elementwise kernels their compositions take.
#include <vector>

#include <xmmintrin.h>

#include "gelu.h"
#include "kernels.h"
#include "parallel.h"

namespace clue {

// Float sums in SIMD lanes (rows are 16–512 wide here): as accurate as the float compositions
// they replace, and about twice as fast as double accumulators on short rows.
CLUE_HOT static void layerNormRows(float* __restrict y, float* __restrict mean, float* __restrict rstd, const float* __restrict x,
                                   const float* gamma, const float* beta, int64_t r0, int64_t r1, int64_t cols, float eps) {
  const float inv = 1.0f / float(cols);
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < cols; j++) s += xr[j];
    const float m = s * inv;
    float v = 0.0f;
#pragma omp simd reduction(+ : v)
    for (int64_t j = 0; j < cols; j++) {
      float d = xr[j] - m;
      v += d * d;
    }
    const float rs = 1.0f / std::sqrt(v * inv + eps);
    mean[r] = m;
    rstd[r] = rs;
    if (gamma && beta) {
#pragma omp simd
      for (int64_t j = 0; j < cols; j++) yr[j] = (xr[j] - m) * rs * gamma[j] + beta[j];
    } else if (gamma) {
#pragma omp simd
      for (int64_t j = 0; j < cols; j++) yr[j] = (xr[j] - m) * rs * gamma[j];
    } else if (beta) {
#pragma omp simd
      for (int64_t j = 0; j < cols; j++) yr[j] = (xr[j] - m) * rs + beta[j];
    } else {
#pragma omp simd
      for (int64_t j = 0; j < cols; j++) yr[j] = (xr[j] - m) * rs;
    }
  }
}

// Short rows (CLUENet's channels-last maps: C = 16…64). With C a compile-time constant the row
// sums unroll into a few vector adds and one shuffle tree, with no peel, tail or mask. Same
// arithmetic as layerNormRows (float sums, two passes), so results match it to rounding.
template <int C>
__attribute__((always_inline)) inline void layerNormRowsFixed(float* __restrict y, float* __restrict mean, float* __restrict rstd,
                                                              const float* __restrict x, const float* __restrict gamma,
                                                              const float* __restrict beta, int64_t r0, int64_t r1, float eps) {
  constexpr float inv = 1.0f / float(C);
  // Blocks of rows, one phase at a time, so the rows' reductions and square roots overlap instead
  // of forming one long dependency chain per row (the chain, not memory, bounded C = 16).
  constexpr int64_t kBlock = 16;
  for (int64_t b0 = r0; b0 < r1; b0 += kBlock) {
    const int64_t nb = std::min(kBlock, r1 - b0);
    const float* xb = x + b0 * C;
    float m[kBlock], rs[kBlock];
    for (int64_t i = 0; i < nb; i++) {
      float s = 0.0f;
#pragma omp simd reduction(+ : s)
      for (int j = 0; j < C; j++) s += xb[i * C + j];
      m[i] = s * inv;
    }
    for (int64_t i = 0; i < nb; i++) {
      float v = 0.0f;
#pragma omp simd reduction(+ : v)
      for (int j = 0; j < C; j++) v += (xb[i * C + j] - m[i]) * (xb[i * C + j] - m[i]);
      rs[i] = v;
    }
#pragma omp simd
    for (int64_t i = 0; i < nb; i++) {
      rs[i] = 1.0f / std::sqrt(rs[i] * inv + eps);
      mean[b0 + i] = m[i];
      rstd[b0 + i] = rs[i];
    }
    for (int64_t i = 0; i < nb; i++) {
      float* yr = y + (b0 + i) * C;
#pragma omp simd
      for (int j = 0; j < C; j++) yr[j] = (xb[i * C + j] - m[i]) * rs[i] * gamma[j] + beta[j];
    }
  }
}

constexpr int kShortCols[] = {16, 32, 48, 64};

static bool isShortCols(int64_t cols) {
  for (int c : kShortCols)
    if (cols == c) return true;
  return false;
}

CLUE_HOT static void layerNormRowsShort(float* __restrict y, float* __restrict mean, float* __restrict rstd, const float* __restrict x,
                                        const float* gamma, const float* beta, int64_t r0, int64_t r1, int64_t cols, float eps) {
  switch (cols) {
    case 16: return layerNormRowsFixed<16>(y, mean, rstd, x, gamma, beta, r0, r1, eps);
    case 32: return layerNormRowsFixed<32>(y, mean, rstd, x, gamma, beta, r0, r1, eps);
    case 48: return layerNormRowsFixed<48>(y, mean, rstd, x, gamma, beta, r0, r1, eps);
    default: return layerNormRowsFixed<64>(y, mean, rstd, x, gamma, beta, r0, r1, eps);
  }
}

// gamma = 1 and beta = 0 where the caller passed none, so the short kernels need one variant.
static const float* orFill(const float* p, std::vector<float>& own, int64_t cols, float value) {
  if (p) return p;
  own.assign(size_t(cols), value);
  return own.data();
}

/**
 * layerNorm(y, mean, rstd, x, gamma|null, beta|null, rows, cols, eps): per row of x,
 * y = (x − mean)·rstd·gamma + beta with rstd = 1/√(var + eps) (population variance); mean and
 * rstd are kept for the gradient.
 */
void layerNorm(const Args& args) {
  int64_t rows = args.integer(6), cols = args.integer(7);
  float eps = float(args.number(8));
  size_t n = size_t(rows * cols);
  float* y = args.f32(0, n);
  float* mean = args.f32(1, size_t(rows));
  float* rstd = args.f32(2, size_t(rows));
  const float* x = args.f32(3, n);
  const float* gamma = args.isNull(4) ? nullptr : args.f32(4, size_t(cols));
  const float* beta = args.isNull(5) ? nullptr : args.f32(5, size_t(cols));
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1));
  if (isShortCols(cols)) {
    std::vector<float> ones, zeros;
    const float* g = orFill(gamma, ones, cols, 1.0f);
    const float* b = orFill(beta, zeros, cols, 0.0f);
    parallel_for(rows, grain, [&](int64_t r0, int64_t r1) { layerNormRowsShort(y, mean, rstd, x, g, b, r0, r1, cols, eps); });
    return;
  }
  parallel_for(rows, grain, [&](int64_t r0, int64_t r1) { layerNormRows(y, mean, rstd, x, gamma, beta, r0, r1, cols, eps); });
}

// Rows of gradients; dgamma/dbeta are summed in float over blocks of kFlushRows rows and then
// added to double partials, so long sums stay accurate without a double per element.
constexpr int64_t kFlushRows = 64;

CLUE_HOT static void layerNormGradRows(float* __restrict dx, double* __restrict dg, double* __restrict db, const float* __restrict dy,
                                       const float* __restrict x, const float* gamma, const float* mean, const float* rstd,
                                       const float* __restrict skip, int64_t r0, int64_t r1, int64_t cols, std::vector<float>& scratch) {
  scratch.assign(size_t(cols) * 2, 0.0f);
  float* __restrict dgF = scratch.data();
  float* __restrict dbF = scratch.data() + cols;
  const float inv = 1.0f / float(cols);
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * cols;
    const float* dyr = dy + r * cols;
    const float m = mean[r], rs = rstd[r];
    float sumG = 0.0f, sumGX = 0.0f;
    if (gamma) {
#pragma omp simd reduction(+ : sumG, sumGX)
      for (int64_t j = 0; j < cols; j++) {
        float g = dyr[j] * gamma[j];
        sumG += g;
        sumGX += g * (xr[j] - m) * rs;
      }
    } else {
#pragma omp simd reduction(+ : sumG, sumGX)
      for (int64_t j = 0; j < cols; j++) {
        sumG += dyr[j];
        sumGX += dyr[j] * (xr[j] - m) * rs;
      }
    }
    if (dg || db) {
#pragma omp simd
      for (int64_t j = 0; j < cols; j++) {
        dgF[j] += dyr[j] * (xr[j] - m) * rs;
        dbF[j] += dyr[j];
      }
      if ((r - r0) % kFlushRows == kFlushRows - 1 || r == r1 - 1) {
        for (int64_t j = 0; j < cols; j++) {
          if (dg) dg[j] += double(dgF[j]);
          if (db) db[j] += double(dbF[j]);
          dgF[j] = dbF[j] = 0.0f;
        }
      }
    }
    if (dx) {
      float* dxr = dx + r * cols;
      const float a = sumG * inv, b = sumGX * inv;
      if (gamma) {
#pragma omp simd
        for (int64_t j = 0; j < cols; j++) dxr[j] = rs * (dyr[j] * gamma[j] - a - (xr[j] - m) * rs * b);
      } else {
#pragma omp simd
        for (int64_t j = 0; j < cols; j++) dxr[j] = rs * (dyr[j] - a - (xr[j] - m) * rs * b);
      }
      if (skip) {
        const float* sr = skip + r * cols;
#pragma omp simd
        for (int64_t j = 0; j < cols; j++) dxr[j] += sr[j];
      }
    }
  }
}

// The gradient's short-row twin of layerNormRowsFixed: both row sums unrolled, and the dgamma/dbeta
// float blocks held in registers (C ≤ 64) and flushed to the double partials every kFlushRows
// rows, as layerNormGradRows does, so the per-chunk partials and their fixed summation order stay.
// kSkip: dx also gets the gradient of the input's other use (skip, layerNormTee's pass-through),
// added while the row is in registers instead of by a separate Add over the whole map.
template <int C, bool kSkip>
__attribute__((always_inline)) inline void layerNormGradRowsFixed(float* __restrict dx, double* __restrict dg, double* __restrict db,
                                                                  const float* __restrict dy, const float* __restrict x,
                                                                  const float* __restrict gamma, const float* __restrict mean,
                                                                  const float* __restrict rstd, const float* __restrict skip,
                                                                  int64_t r0, int64_t r1) {
  constexpr float inv = 1.0f / float(C);
  float dgF[C], dbF[C];
  for (int j = 0; j < C; j++) dgF[j] = dbF[j] = 0.0f;
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * C;
    const float* dyr = dy + r * C;
    float* dxr = dx + r * C;
    const float m = mean[r], rs = rstd[r];
    float sumG = 0.0f, sumGX = 0.0f;
#pragma omp simd reduction(+ : sumG, sumGX)
    for (int j = 0; j < C; j++) {
      float g = dyr[j] * gamma[j];
      sumG += g;
      sumGX += g * (xr[j] - m) * rs;
    }
    const float a = sumG * inv, b = sumGX * inv;
#pragma omp simd
    for (int j = 0; j < C; j++) {
      const float xh = (xr[j] - m) * rs;
      dgF[j] += dyr[j] * xh;
      dbF[j] += dyr[j];
      dxr[j] = rs * (dyr[j] * gamma[j] - a - xh * b);
    }
    if constexpr (kSkip) {
      // A second pass over the row (in L1), after a compiler barrier: added in the loop above (or
      // forwarded into it), the product would become an FMA and the sum differ in its last bit
      // from layerNorm's gradient plus an Add.
      asm volatile("" ::: "memory");
#pragma omp simd
      for (int j = 0; j < C; j++) dxr[j] += skip[r * C + j];
    }
    if ((r - r0) % kFlushRows == kFlushRows - 1 || r == r1 - 1) {
      for (int j = 0; j < C; j++) {
        dg[j] += double(dgF[j]);
        db[j] += double(dbF[j]);
        dgF[j] = dbF[j] = 0.0f;
      }
    }
  }
}

template <bool kSkip>
CLUE_HOT static void layerNormGradRowsShort(float* __restrict dx, double* __restrict dg, double* __restrict db, const float* __restrict dy,
                                            const float* __restrict x, const float* gamma, const float* mean, const float* rstd,
                                            const float* skip, int64_t r0, int64_t r1, int64_t cols) {
  switch (cols) {
    case 16: return layerNormGradRowsFixed<16, kSkip>(dx, dg, db, dy, x, gamma, mean, rstd, skip, r0, r1);
    case 32: return layerNormGradRowsFixed<32, kSkip>(dx, dg, db, dy, x, gamma, mean, rstd, skip, r0, r1);
    case 48: return layerNormGradRowsFixed<48, kSkip>(dx, dg, db, dy, x, gamma, mean, rstd, skip, r0, r1);
    default: return layerNormGradRowsFixed<64, kSkip>(dx, dg, db, dy, x, gamma, mean, rstd, skip, r0, r1);
  }
}

/**
 * layerNormGrad(dx|null, dgamma|null, dbeta|null, dy, x, gamma|null, mean, rstd, rows, cols[, skip|null]):
 * the gradients of layerNorm for upstream dy, from the saved mean and rstd; with `skip` (the
 * gradient of x's other use, x's shape) dx is that plus layer norm's own input gradient.
 */
void layerNormGrad(const Args& args) {
  int64_t rows = args.integer(8), cols = args.integer(9);
  size_t n = size_t(rows * cols);
  float* dx = args.isNull(0) ? nullptr : args.f32(0, n);
  float* dgamma = args.isNull(1) ? nullptr : args.f32(1, size_t(cols));
  float* dbeta = args.isNull(2) ? nullptr : args.f32(2, size_t(cols));
  const float* dy = args.f32(3, n);
  const float* x = args.f32(4, n);
  const float* gamma = args.isNull(5) ? nullptr : args.f32(5, size_t(cols));
  const float* mean = args.f32(6, size_t(rows));
  const float* rstd = args.f32(7, size_t(rows));
  const float* skip = args.count() > 10 && !args.isNull(10) ? args.f32(10, n) : nullptr;
  if (skip && !dx) throw Error("layerNormGrad: a skip gradient needs dx to add it to");
  int64_t chunks = chunksFor(rows * cols, kGrain) > 1 ? std::min<int64_t>(rows, 2 * poolThreads()) : 1;
  std::vector<double> partial(size_t(chunks * cols * 2), 0.0);
  if (dx && isShortCols(cols)) {
    // dgamma/dbeta partials are computed even when not asked for: one variant, and they are cheap.
    std::vector<float> ones;
    const float* g = orFill(gamma, ones, cols, 1.0f);
    parallel_chunks(rows, chunks, [&](int64_t r0, int64_t r1, int64_t t) {
      double* dg = partial.data() + t * cols * 2;
      if (skip) layerNormGradRowsShort<true>(dx, dg, dg + cols, dy, x, g, mean, rstd, skip, r0, r1, cols);
      else layerNormGradRowsShort<false>(dx, dg, dg + cols, dy, x, g, mean, rstd, nullptr, r0, r1, cols);
    });
  } else {
    parallel_chunks(rows, chunks, [&](int64_t r0, int64_t r1, int64_t t) {
      std::vector<float> scratch;
      layerNormGradRows(dx, dgamma ? partial.data() + t * cols * 2 : nullptr, dbeta ? partial.data() + t * cols * 2 + cols : nullptr, dy, x,
                        gamma, mean, rstd, skip, r0, r1, cols, scratch);
    });
  }
  for (int64_t j = 0; j < cols; j++) {
    double g = 0.0, b = 0.0;
    for (int64_t t = 0; t < chunks; t++) {
      g += partial[size_t(t * cols * 2 + j)];
      b += partial[size_t(t * cols * 2 + cols + j)];
    }
    if (dgamma) dgamma[j] = float(g);
    if (dbeta) dbeta[j] = float(b);
  }
}

// no __restrict: y and slope may be z (in place); omp simd says the elements are independent
CLUE_HOT void geluRows(float* y, float* slope, const float* z, int64_t n) {
  if (!slope) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] = geluValue(z[i]);
    return;
  }
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    float x = z[i], e = geluGauss(x);
    y[i] = geluFromGauss(x, e);
    slope[i] = slopeFromGauss(x, e);
  }
}

// 16 at a time, each block after lines of [pf, pf + pfFloats) are prefetched (spread evenly
// over the blocks) with the line of y's next n floats; slope, when there is one, with
// non-temporal stores once slope + i is 64-byte aligned. The same inline math as geluRows, so
// the same values bit for bit. No __restrict: y may be z.
CLUE_HOT void geluRowsAhead(float* y, float* __restrict slope, const float* z, int64_t n, const float* pf, int64_t pfFloats) {
  auto one = [&](int64_t i) {
    float x = z[i], e = geluGauss(x);
    y[i] = geluFromGauss(x, e);
    if (slope) slope[i] = slopeFromGauss(x, e);
  };
  int64_t i = 0;
  if (slope) {
    for (; i < n && (reinterpret_cast<uintptr_t>(slope + i) & 63) != 0; i++) one(i);
  }
  int64_t blocks = std::max<int64_t>(1, (n - i) / 16), pfPer = (pfFloats / 16 + blocks - 1) / blocks, pfAt = 0;
  for (; i + 16 <= n; i += 16) {
    __builtin_prefetch(y + n + i, 1);
    for (int64_t k = 0; k < pfPer && pfAt < pfFloats; k++, pfAt += 16) __builtin_prefetch(pf + pfAt);
    if (!slope) {
#pragma omp simd
      for (int k = 0; k < 16; k++) y[i + k] = geluValue(z[i + k]);
      continue;
    }
    alignas(64) float s[16];
#pragma omp simd
    for (int k = 0; k < 16; k++) {
      float x = z[i + k], e = geluGauss(x);
      y[i + k] = geluFromGauss(x, e);
      s[k] = slopeFromGauss(x, e);
    }
    for (int k = 0; k < 16; k += 4) _mm_stream_ps(slope + i + k, _mm_load_ps(s + k));
  }
  for (; i < n; i++) one(i);
  if (slope) _mm_sfence();
}

CLUE_HOT static void geluGradRange(float* __restrict dx, const float* __restrict dy, const float* __restrict x, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * geluSlope(x[i]);
}

/**
 * gelu(y, x[, slope]): y = x·Φ(x) = ½x(1 + erf(x/√2)), and with slope (which may be x itself)
 * slope = gelu'(x) as geluGrad uses it, for a backward pass that then needs only dy·slope.
 */
void gelu(const Args& args) {
  size_t n = args.length(1);
  float* y = args.f32(0, n);
  const float* x = args.f32(1, n);
  float* slope = args.count() > 2 && !args.isNull(2) ? args.f32(2, n) : nullptr;
  parallel_for(int64_t(n), kGrain, [&](int64_t b, int64_t e) { geluRows(y + b, slope ? slope + b : nullptr, x + b, e - b); });
}

/** geluGrad(dx, dy, x): dx = dy·(Φ(x) + x·φ(x)). */
void geluGrad(const Args& args) {
  size_t n = args.length(2);
  float* dx = args.f32(0, n);
  const float* dy = args.f32(1, n);
  const float* x = args.f32(2, n);
  parallel_for(int64_t(n), kGrain, [&](int64_t b, int64_t e) { geluGradRange(dx + b, dy + b, x + b, e - b); });
}

}  // namespace clue
