// Fused kernels behind cluelab's engine-level ops (lib/engine/fused): layer normalisation over
// the last axis and the exact (erf) GELU, forward and backward, each one pass over memory
// instead of the ten-odd elementwise kernels their compositions take.
#include <vector>

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
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)),
               [&](int64_t r0, int64_t r1) { layerNormRows(y, mean, rstd, x, gamma, beta, r0, r1, cols, eps); });
}

// Rows of gradients; dgamma/dbeta are summed in float over blocks of kFlushRows rows and then
// added to double partials, so long sums stay accurate without a double per element.
constexpr int64_t kFlushRows = 64;

CLUE_HOT static void layerNormGradRows(float* __restrict dx, double* __restrict dg, double* __restrict db, const float* __restrict dy,
                                       const float* __restrict x, const float* gamma, const float* mean, const float* rstd, int64_t r0,
                                       int64_t r1, int64_t cols, std::vector<float>& scratch) {
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
    }
  }
}

/**
 * layerNormGrad(dx|null, dgamma|null, dbeta|null, dy, x, gamma|null, mean, rstd, rows, cols):
 * the gradients of layerNorm for upstream dy, from the saved mean and rstd.
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
  int64_t chunks = chunksFor(rows * cols, kGrain) > 1 ? std::min<int64_t>(rows, 2 * poolThreads()) : 1;
  std::vector<double> partial(size_t(chunks * cols * 2), 0.0);
  parallel_chunks(rows, chunks, [&](int64_t r0, int64_t r1, int64_t t) {
    std::vector<float> scratch;
    layerNormGradRows(dx, dgamma ? partial.data() + t * cols * 2 : nullptr, dbeta ? partial.data() + t * cols * 2 + cols : nullptr, dy, x,
                      gamma, mean, rstd, r0, r1, cols, scratch);
  });
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

CLUE_HOT static void geluRange(float* __restrict y, const float* __restrict x, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + ferf(x[i] * 0.70710678118654752f));
}

CLUE_HOT static void geluGradRange(float* __restrict dx, const float* __restrict dy, const float* __restrict x, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float v = x[i];
    float cdf = 0.5f * (1.0f + ferf(v * 0.70710678118654752f));
    float pdf = 0.39894228040143268f * fexp(-0.5f * v * v);
    dx[i] = dy[i] * (cdf + v * pdf);
  }
}

/** gelu(y, x): y = x·Φ(x) = ½x(1 + erf(x/√2)). */
void gelu(const Args& args) {
  size_t n = args.length(1);
  float* y = args.f32(0, n);
  const float* x = args.f32(1, n);
  parallel_for(int64_t(n), kGrain, [&](int64_t b, int64_t e) { geluRange(y + b, x + b, e - b); });
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
