// The residual update of a MetaFormer block, y = x + mask[b]·(scale[c]·branch), and its
// gradient, each one pass over memory instead of the two to four elementwise kernels (and a
// reduction) of the composition. Products are taken in the composition's order and rounded one
// by one (no fused multiply-add), so the value and dbranch equal the composition's bit for bit.
#include <vector>

#pragma GCC optimize("fp-contract=off")

#include "kernels.h"
#include "parallel.h"

namespace clue {

// rows = elements / cols (cols = the channel axis); a sample is rowsPerSample consecutive rows.
struct ResidualShape {
  int64_t rows, cols, rowsPerSample;
};

static ResidualShape residualShape(size_t n, int64_t batch, int64_t cols) {
  if (batch < 1 || cols < 1 || n % size_t(batch * cols) != 0) {
    throw Error("residual: " + std::to_string(n) + " elements are not batch " + std::to_string(batch) + " × rows × " + std::to_string(cols) +
                " channels");
  }
  int64_t rows = int64_t(n) / cols;
  return {rows, cols, rows / batch};
}

CLUE_HOT static void residualRows(float* __restrict y, const float* __restrict x, const float* __restrict branch, const float* scale,
                                  const float* mask, int64_t r0, int64_t r1, const ResidualShape& s) {
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * s.cols;
    const float* br = branch + r * s.cols;
    float* yr = y + r * s.cols;
    if (scale && mask) {
      const float m = mask[r / s.rowsPerSample];
#pragma omp simd
      for (int64_t j = 0; j < s.cols; j++) yr[j] = xr[j] + (br[j] * scale[j]) * m;
    } else if (scale) {
#pragma omp simd
      for (int64_t j = 0; j < s.cols; j++) yr[j] = xr[j] + br[j] * scale[j];
    } else if (mask) {
      const float m = mask[r / s.rowsPerSample];
#pragma omp simd
      for (int64_t j = 0; j < s.cols; j++) yr[j] = xr[j] + br[j] * m;
    } else {
#pragma omp simd
      for (int64_t j = 0; j < s.cols; j++) yr[j] = xr[j] + br[j];
    }
  }
}

/**
 * residual(y, x, branch, scale|null, mask|null, batch, cols): y = x + (branch·scale[c])·mask[b]
 * for x, branch [batch, …, cols], scale [cols] (the layer scale) and mask [batch] (drop path's
 * per-sample factors).
 */
void residual(const Args& args) {
  size_t n = args.length(1);
  int64_t batch = args.integer(5), cols = args.integer(6);
  ResidualShape s = residualShape(n, batch, cols);
  float* y = args.f32(0, n);
  const float* x = args.f32(1, n);
  const float* branch = args.f32(2, n);
  const float* scale = args.isNull(3) ? nullptr : args.f32(3, size_t(cols));
  const float* mask = args.isNull(4) ? nullptr : args.f32(4, size_t(batch));
  parallel_for(s.rows, std::max<int64_t>(1, kGrain / cols), [&](int64_t r0, int64_t r1) { residualRows(y, x, branch, scale, mask, r0, r1, s); });
}

// dscale sums over every row: in float over blocks of kFlushRows rows, then into a double
// partial per chunk, so long sums stay accurate without a conversion per element.
constexpr int64_t kFlushRows = 32;

CLUE_HOT static void residualGradRows(float* __restrict dbranch, double* __restrict dscale, const float* __restrict dy,
                                      const float* __restrict branch, const float* scale, const float* mask, int64_t r0, int64_t r1,
                                      const ResidualShape& s, float* __restrict block) {
  if (scale) {
    for (int64_t j = 0; j < s.cols; j++) block[j] = 0.0f;
  }
  for (int64_t r = r0; r < r1; r++) {
    const float* dyr = dy + r * s.cols;
    float* dbr = dbranch + r * s.cols;
    const float m = mask ? mask[r / s.rowsPerSample] : 1.0f;
    if (scale) {
      // The composition's order: g = dy·mask, dbranch = g·scale, dscale = Σ g·branch.
      const float* br = branch + r * s.cols;
      if (mask) {
#pragma omp simd
        for (int64_t j = 0; j < s.cols; j++) {
          const float g = dyr[j] * m;
          dbr[j] = g * scale[j];
          block[j] += g * br[j];
        }
      } else {
#pragma omp simd
        for (int64_t j = 0; j < s.cols; j++) {
          dbr[j] = dyr[j] * scale[j];
          block[j] += dyr[j] * br[j];
        }
      }
      if ((r - r0) % kFlushRows == kFlushRows - 1 || r == r1 - 1) {
        for (int64_t j = 0; j < s.cols; j++) {
          dscale[j] += double(block[j]);
          block[j] = 0.0f;
        }
      }
    } else {
#pragma omp simd
      for (int64_t j = 0; j < s.cols; j++) dbr[j] = dyr[j] * m;
    }
  }
}

/**
 * residualGrad(dbranch, dscale|null, dy, branch|null, scale|null, mask|null, batch, cols): the
 * gradients of residual for upstream dy — dbranch = dy·mask[b]·scale[c] and, with a scale,
 * dscale[c] = Σ dy·mask[b]·branch over every other axis (dx is dy itself). The sum is cut into
 * a fixed number of chunks for the thread count and added in chunk order: deterministic.
 */
void residualGrad(const Args& args) {
  size_t n = args.length(2);
  int64_t batch = args.integer(6), cols = args.integer(7);
  ResidualShape s = residualShape(n, batch, cols);
  float* dbranch = args.f32(0, n);
  const float* dy = args.f32(2, n);
  const float* scale = args.isNull(4) ? nullptr : args.f32(4, size_t(cols));
  const float* mask = args.isNull(5) ? nullptr : args.f32(5, size_t(batch));
  if (!scale) {
    parallel_for(s.rows, std::max<int64_t>(1, kGrain / cols),
                 [&](int64_t r0, int64_t r1) { residualGradRows(dbranch, nullptr, dy, nullptr, nullptr, mask, r0, r1, s, nullptr); });
    return;
  }
  float* dscale = args.f32(1, size_t(cols));
  const float* branch = args.f32(3, n);
  int64_t chunks = chunksFor(s.rows * cols, kGrain) > 1 ? std::min<int64_t>(s.rows, 2 * poolThreads()) : 1;
  std::vector<double> partial(size_t(chunks * cols), 0.0);
  parallel_chunks(s.rows, chunks, [&](int64_t r0, int64_t r1, int64_t t) {
    std::vector<float> block(static_cast<size_t>(cols));
    residualGradRows(dbranch, partial.data() + t * cols, dy, branch, scale, mask, r0, r1, s, block.data());
  });
  for (int64_t j = 0; j < cols; j++) {
    double sum = 0.0;
    for (int64_t t = 0; t < chunks; t++) sum += partial[size_t(t * cols + j)];
    dscale[j] = float(sum);
  }
}

}  // namespace clue
