// Fused kernels for cluster-based models (lib/engine/fused): row L2 normalisation, nearest
// center by cosine similarity, and the mean of each center's members — without materialising the
// [pixels × centers] one-hot matrices their compositions multiply with.
#include <vector>

#include "gemm.h"
#include "kernels.h"
#include "nearest.h"
#include "parallel.h"

namespace clue {

static constexpr float kNormEps = 1e-12f;  // PyTorch's F.normalize

// Rows of a compile-time length (CLUENet's heads: d = 16…64): the row sums unroll into vector ops and
// rows go in blocks, so their square roots overlap (as normalizeGradRowsFixed below); a plain loop's
// sum is one dependency chain per row (at d = 16 the forward took 5× a copy's time).
template <int C>
__attribute__((always_inline)) inline void normalizeRowsFixed(float* __restrict y, const float* __restrict x, int64_t r0, int64_t r1, float eps) {
  constexpr int64_t kBlock = 16;
  for (int64_t b0 = r0; b0 < r1; b0 += kBlock) {
    const int64_t nb = std::min(kBlock, r1 - b0);
    const float* xb = x + b0 * C;
    float* yb = y + b0 * C;
    float norm[kBlock];
    for (int64_t i = 0; i < nb; i++) {
      float s = 0.0f;
#pragma omp simd reduction(+ : s)
      for (int j = 0; j < C; j++) s += xb[i * C + j] * xb[i * C + j];
      norm[i] = s;
    }
#pragma omp simd
    for (int64_t i = 0; i < nb; i++) norm[i] = std::max(std::sqrt(norm[i]), eps);
    for (int64_t i = 0; i < nb; i++) {
#pragma omp simd
      for (int j = 0; j < C; j++) yb[i * C + j] = xb[i * C + j] / norm[i];
    }
  }
}

CLUE_HOT static void normalizeRows(float* __restrict y, const float* __restrict x, int64_t r0, int64_t r1, int64_t cols, float eps) {
  switch (cols) {
    case 16: return normalizeRowsFixed<16>(y, x, r0, r1, eps);
    case 32: return normalizeRowsFixed<32>(y, x, r0, r1, eps);
    case 64: return normalizeRowsFixed<64>(y, x, r0, r1, eps);
    default: break;
  }
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float s = 0.0f;
    for (int64_t j = 0; j < cols; j++) s += xr[j] * xr[j];
    float n = std::max(std::sqrt(s), eps);
    for (int64_t j = 0; j < cols; j++) yr[j] = xr[j] / n;
  }
}

/** l2Normalize(y, x, rows, cols, eps): y = x / max(‖x‖₂, eps) along each row. */
void l2Normalize(const Args& args) {
  int64_t rows = args.integer(2), cols = args.integer(3);
  float eps = float(args.number(4));
  float* y = args.f32(0, size_t(rows * cols));
  const float* x = args.f32(1, size_t(rows * cols));
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)), [&](int64_t r0, int64_t r1) { normalizeRows(y, x, r0, r1, cols, eps); });
}

// Gradient rows of a compile-time length (CLUENet's channels-last maps: d = 16…64): both row sums
// unroll into a few vector ops, and rows go in blocks, phase by phase, so the rows' reductions and
// square roots overlap instead of forming one dependency chain per row (that chain, not memory,
// bounded d = 16). The forward, one read and one write per element, already runs at memory speed.
static constexpr int64_t kNormBlock = 16;

template <int C>
__attribute__((always_inline)) inline void normalizeGradRowsFixed(float* __restrict dx, const float* __restrict dy, const float* __restrict x,
                                                                  int64_t r0, int64_t r1, float eps) {
  for (int64_t b0 = r0; b0 < r1; b0 += kNormBlock) {
    const int64_t nb = std::min(kNormBlock, r1 - b0);
    const float* xb = x + b0 * C;
    const float* dyb = dy + b0 * C;
    float* dxb = dx + b0 * C;
    float ss[kNormBlock], dots[kNormBlock], inv[kNormBlock], k[kNormBlock];
    for (int64_t i = 0; i < nb; i++) {
      float s = 0.0f, dot = 0.0f;
#pragma omp simd reduction(+ : s, dot)
      for (int j = 0; j < C; j++) {
        s += xb[i * C + j] * xb[i * C + j];
        dot += xb[i * C + j] * dyb[i * C + j];
      }
      ss[i] = s;
      dots[i] = dot;
    }
    // Below eps the forward divided by the constant eps: dx = dy / eps, i.e. inv = 1/eps, k = 0.
#pragma omp simd
    for (int64_t i = 0; i < nb; i++) {
      const float n = std::sqrt(ss[i]);
      const bool big = n >= eps;
      const float iv = 1.0f / (big ? n : eps);
      inv[i] = iv;
      k[i] = big ? dots[i] * iv * iv : 0.0f;
    }
    for (int64_t i = 0; i < nb; i++) {
#pragma omp simd
      for (int j = 0; j < C; j++) dxb[i * C + j] = (dyb[i * C + j] - xb[i * C + j] * k[i]) * inv[i];
    }
  }
}

CLUE_HOT static void normalizeGradRows(float* __restrict dx, const float* __restrict dy, const float* __restrict x, int64_t r0, int64_t r1,
                                       int64_t cols, float eps) {
  switch (cols) {
    case 16: return normalizeGradRowsFixed<16>(dx, dy, x, r0, r1, eps);
    case 32: return normalizeGradRowsFixed<32>(dx, dy, x, r0, r1, eps);
    case 64: return normalizeGradRowsFixed<64>(dx, dy, x, r0, r1, eps);
    default: break;
  }
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    float s = 0.0f, dot = 0.0f;
    for (int64_t j = 0; j < cols; j++) {
      s += xr[j] * xr[j];
      dot += xr[j] * dyr[j];
    }
    float n = std::sqrt(s);
    if (n >= eps) {
      // d(x/‖x‖) = (dy − x·(x·dy)/‖x‖²) / ‖x‖
      float inv = 1.0f / n, k = dot * inv * inv;
      for (int64_t j = 0; j < cols; j++) dxr[j] = (dyr[j] - xr[j] * k) * inv;
    } else {
      for (int64_t j = 0; j < cols; j++) dxr[j] = dyr[j] / eps;
    }
  }
}

/** l2NormalizeGrad(dx, dy, x, rows, cols, eps): the gradient of l2Normalize. */
void l2NormalizeGrad(const Args& args) {
  int64_t rows = args.integer(3), cols = args.integer(4);
  float eps = float(args.number(5));
  size_t n = size_t(rows * cols);
  float* dx = args.f32(0, n);
  const float* dy = args.f32(1, n);
  const float* x = args.f32(2, n);
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)),
               [&](int64_t r0, int64_t r1) { normalizeGradRows(dx, dy, x, r0, r1, cols, eps); });
}

/** The shape arguments of normalizePool(Grad) from index i: n, h, w, c, d, gh, gw, with the checks they need. */
struct TeePoolShape {
  int64_t n, h, w, c, d, gh, gw, fh, fw;
};

static TeePoolShape teePoolShape(const Args& args, size_t i, const char* op) {
  TeePoolShape s{args.integer(i), args.integer(i + 1), args.integer(i + 2), args.integer(i + 3), args.integer(i + 4), args.integer(i + 5),
                 args.integer(i + 6), 0, 0};
  if (s.n < 0 || s.h < 1 || s.w < 1 || s.c < 1 || s.d < 1 || s.c % s.d || s.gh < 1 || s.gw < 1 || s.h % s.gh || s.w % s.gw) {
    throw Error(std::string(op) + ": needs d dividing c and a gh×gw grid of equal windows (gh dividing h, gw dividing w)");
  }
  s.fh = s.h / s.gh;
  s.fw = s.w / s.gw;
  return s;
}

/** acc[ow, :] += Σ_{j<fw} x[ow·fw + j, :] for one input row (the window sums of avgPoolTiles, in its order). */
template <int C>
__attribute__((always_inline)) inline void addWindowSumsFixed(float* __restrict acc, const float* __restrict x, int64_t gw, int64_t fw) {
  for (int64_t ow = 0; ow < gw; ow++) {
    float a[C];
#pragma omp simd
    for (int k = 0; k < C; k++) a[k] = acc[ow * C + k];
    for (int64_t j = 0; j < fw; j++)
#pragma omp simd
      for (int k = 0; k < C; k++) a[k] += x[(ow * fw + j) * C + k];
#pragma omp simd
    for (int k = 0; k < C; k++) acc[ow * C + k] = a[k];
  }
}

CLUE_HOT static void addWindowSums(float* __restrict acc, const float* __restrict x, int64_t gw, int64_t fw, int64_t c) {
  switch (c) {
    case 16: return addWindowSumsFixed<16>(acc, x, gw, fw);
    case 32: return addWindowSumsFixed<32>(acc, x, gw, fw);
    case 64: return addWindowSumsFixed<64>(acc, x, gw, fw);
    case 128: return addWindowSumsFixed<128>(acc, x, gw, fw);
    default: break;
  }
  for (int64_t ow = 0; ow < gw; ow++)
    for (int64_t j = 0; j < fw; j++) {
      const float* px = x + (ow * fw + j) * c;
#pragma omp simd
      for (int64_t k = 0; k < c; k++) acc[ow * c + k] += px[k];
    }
}

/**
 * normalizePool(y, pooled, x, n, h, w, c, d, gh, gw, eps): x [n, h, w, c] (channels-last, c = heads·d)
 * to y = x with each d-channel chunk L2-normalised (l2Normalize over rows of d) and pooled [n, gh, gw, c]
 * = the average of x over each of the gh×gw equal windows (avgPoolTiles' sums, in its order): both uses
 * of a key map in one read of it. Each chunk of the pool takes whole pooled rows (fh input rows), each
 * input row normalised and then added into its window sums while it is in L1.
 */
void normalizePool(const Args& args) {
  const TeePoolShape s = teePoolShape(args, 3, "normalizePool");
  const float eps = float(args.number(10));
  const int64_t rowStride = s.w * s.c, chunks = rowStride / s.d;
  float* y = args.f32(0, size_t(s.n * s.h * rowStride));
  float* pooled = args.f32(1, size_t(s.n * s.gh * s.gw * s.c));
  const float* x = args.f32(2, size_t(s.n * s.h * rowStride));
  const float inv = 1.0f / float(s.fh * s.fw);
  const int64_t c = s.c, fw = s.fw, gw = s.gw;
  parallel_for(s.n * s.gh, std::max<int64_t>(1, kGrain / std::max<int64_t>(s.fh * rowStride, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const int64_t first = (r / s.gh * s.h + r % s.gh * s.fh) * rowStride;
      float* acc = pooled + r * gw * c;
      std::fill(acc, acc + gw * c, 0.0f);
      for (int64_t i = 0; i < s.fh; i++) {
        const float* xr = x + first + i * rowStride;
        normalizeRows(y + first + i * rowStride, xr, 0, chunks, s.d, eps);
        addWindowSums(acc, xr, gw, fw, c);
      }
#pragma omp simd
      for (int64_t k = 0; k < gw * c; k++) acc[k] *= inv;
    }
  });
}

/**
 * normalizePoolGrad(dx, dy, dpooled, x, n, h, w, c, d, gh, gw, eps): normalizePool's input gradient,
 * written once: dx = l2NormalizeGrad(dy, x) per d-chunk + dpooled spread over its window ÷ its area
 * (what L2NormalizeGrad, AvgPoolGrad and the tape's Add give, in one pass over the map).
 */
void normalizePoolGrad(const Args& args) {
  const TeePoolShape s = teePoolShape(args, 4, "normalizePoolGrad");
  const float eps = float(args.number(11));
  const int64_t rowStride = s.w * s.c, chunks = rowStride / s.d;
  const size_t size = size_t(s.n * s.h * rowStride);
  float* dx = args.f32(0, size);
  const float* dy = args.f32(1, size);
  const float* dp = args.f32(2, size_t(s.n * s.gh * s.gw * s.c));
  const float* x = args.f32(3, size);
  const float inv = 1.0f / float(s.fh * s.fw);
  const int64_t c = s.c, fw = s.fw, gw = s.gw;
  parallel_for(s.n * s.h, std::max<int64_t>(1, kGrain / std::max<int64_t>(rowStride, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      float* out = dx + r * rowStride;
      normalizeGradRows(out, dy + r * rowStride, x + r * rowStride, 0, chunks, s.d, eps);
      const float* g = dp + (r / s.h * s.gh + r % s.h / s.fh) * gw * c;
      for (int64_t ow = 0; ow < gw; ow++)
        for (int64_t j = 0; j < fw; j++) {
          float* o = out + (ow * fw + j) * c;
#pragma omp simd
          for (int64_t k = 0; k < c; k++) o[k] += g[ow * c + k] * inv;
        }
    }
  });
}

typedef float F16 __attribute__((vector_size(64)));
typedef int32_t I16 __attribute__((vector_size(64)));

/**
 * The index of the first maximum of v[0..m), as argmax does: a NaN at v[0] wins (nothing compares
 * greater), a later NaN never does. Lanes of running maxima, then the first position of the max.
 */

CLUE_HOT static int32_t firstMax(const float* v, int64_t m) {
  float best = v[0];
  if (best != best) return 0;
  // Per lane: the greatest value so far and where it first appeared (strictly greater replaces).
  constexpr int kLanes = 16;
  F16 lane = F16{} + best;
  I16 at = I16{}, pos = I16{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  int64_t j = 0;
  for (; j + kLanes <= m; j += kLanes) {
    F16 x;
    std::memcpy(&x, v + j, sizeof x);
    I16 gt = x > lane;
    lane = gt ? x : lane;
    at = gt ? pos : at;
    pos += kLanes;
  }
  int32_t first = 0;
  for (; j < m; j++) {
    if (v[j] > best) {
      best = v[j];
      first = int32_t(j);
    }
  }
  // Across lanes: the greatest value, and of its lanes the earliest position.
  for (int l = 0; l < kLanes; l++) {
    if (lane[l] > best || (lane[l] == best && at[l] < first)) {
      best = lane[l];
      first = at[l];
    }
  }
  return first;
}

/**
 * nearestCenter(index, x, centers, groups, n, m, d[, viaGemm]): index[g, i] = argmax_j cos(x[g, i], centers[g, j])
 * (rows normalised as F.normalize does; the first of equal maxima wins, as argmax does). Each
 * chunk normalises a group's centers once; with the nearest-center kernel (nearest.cc), a block
 * of points is normalised and transposed, one point per vector lane, and swept against all
 * centers with each point's running maximum in registers. Without it (no AVX2), a block's
 * similarities are one small GEMM (gemm.h), then an argmax per row while the block is in cache;
 * a true `viaGemm` takes that path anyway (the benchmark and tests compare the two).
 */
void nearestCenter(const Args& args) {
  int64_t groups = args.integer(3), n = args.integer(4), m = args.integer(5), d = args.integer(6);
  int32_t* index = args.i32(0, size_t(groups * n));
  const float* x = args.f32(1, size_t(groups * n * d));
  const float* c = args.f32(2, size_t(groups * m * d));
  if (m <= 0 && groups * n > 0) throw Error("nearestCenter: there are no centers to choose from (M = 0)");
  const bool viaGemm = args.count() > 7 && !args.isNull(7) && args.integer(7) != 0;
  const int64_t lanes = viaGemm ? 0 : nearestLanes();
  const int64_t block = 64;  // a multiple of every lane count
  int64_t tiles = (n + block - 1) / block;
  parallel_for(groups * tiles, std::max<int64_t>(1, kGrain / std::max<int64_t>(block * m, 1)), [&](int64_t q0, int64_t q1) {
    const int64_t ldc = lanes ? (m + lanes - 1) / lanes * lanes : m;
    // cn: the normalised centers, transposed ([d][ldc]) for either path; rowMajor and sim: the GEMM path's.
    std::vector<float> xn(size_t(block * d)), cn(size_t(ldc * d)), rowMajor(lanes ? 0 : size_t(m * d)), sim(lanes ? 0 : size_t(block * m));
    int64_t normalisedGroup = -1;
    for (int64_t q = q0; q < q1; q++) {
      int64_t g = q / tiles, i0 = (q % tiles) * block, rows = std::min(n, i0 + block) - i0;
      if (g != normalisedGroup) {
        if (lanes) {
          nearestNormalized(cn.data(), ldc, c + g * m * d, m, d, kNormEps);
        } else {
          normalizeRows(rowMajor.data(), c + g * m * d, 0, m, d, kNormEps);
          for (int64_t j = 0; j < m; j++)
            for (int64_t k = 0; k < d; k++) cn[size_t(k * m + j)] = rowMajor[size_t(j * d + k)];
        }
        normalisedGroup = g;
      }
      if (lanes) {
        nearestNormalized(xn.data(), block, x + (g * n + i0) * d, rows, d, kNormEps);
        nearestBlock(index + g * n + i0, xn.data(), block, rows, cn.data(), ldc, m, d);
        continue;
      }
      normalizeRows(xn.data(), x + (g * n + i0) * d, 0, rows, d, kNormEps);
      gemm(Gemm{false, false, rows, m, d, d, m, m, xn.data(), cn.data(), sim.data()});
      for (int64_t p = 0; p < rows; p++) index[g * n + i0 + p] = firstMax(sim.data() + p * m, m);
    }
  });
}

/**
 * clusterMean(out, counts, index, values, centers, groups, n, m, d):
 * out[g, j] = (Σ_{i: index[g,i] = j} values[g, i] + centers[g, j]) / (count[g, j] + 1), and
 * counts[g, j] = count[g, j] (kept for the gradient).
 */
void clusterMean(const Args& args) {
  int64_t groups = args.integer(5), n = args.integer(6), m = args.integer(7), d = args.integer(8);
  float* out = args.f32(0, size_t(groups * m * d));
  float* counts = args.f32(1, size_t(groups * m));
  const int32_t* index = args.i32(2, size_t(groups * n));
  const float* v = args.f32(3, size_t(groups * n * d));
  const float* c = args.f32(4, size_t(groups * m * d));
  for (int64_t i = 0; i < groups * n; i++) {
    if (index[i] < 0 || index[i] >= m) throw Error("clusterMean: index " + std::to_string(index[i]) + " is not in [0, " + std::to_string(m - 1) + "]");
  }
  parallel_for(groups, std::max<int64_t>(1, kGrain / std::max<int64_t>(n * d, 1)), [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; g++) {
      float* o = out + g * m * d;
      float* cnt = counts + g * m;
      std::memcpy(o, c + g * m * d, size_t(m * d) * sizeof(float));
      std::fill(cnt, cnt + m, 0.0f);
      for (int64_t i = 0; i < n; i++) {
        int32_t j = index[g * n + i];
        const float* vi = v + (g * n + i) * d;
        float* oj = o + j * d;
        for (int64_t k = 0; k < d; k++) oj[k] += vi[k];
        cnt[j] += 1.0f;
      }
      for (int64_t j = 0; j < m; j++) {
        float inv = 1.0f / (cnt[j] + 1.0f);
        for (int64_t k = 0; k < d; k++) o[j * d + k] *= inv;
      }
    }
  });
}

/**
 * clusterMeanGrad(dValues, dCenters, dy, index, counts, groups, n, m, d): dCenters = dy/(count+1),
 * dValues[g, i] = dCenters[g, index[g, i]].
 */
void clusterMeanGrad(const Args& args) {
  int64_t groups = args.integer(5), n = args.integer(6), m = args.integer(7), d = args.integer(8);
  float* dv = args.f32(0, size_t(groups * n * d));
  float* dc = args.f32(1, size_t(groups * m * d));
  const float* dy = args.f32(2, size_t(groups * m * d));
  const int32_t* index = args.i32(3, size_t(groups * n));
  const float* counts = args.f32(4, size_t(groups * m));
  parallel_for(groups, std::max<int64_t>(1, kGrain / std::max<int64_t>(n * d, 1)), [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; g++) {
      for (int64_t j = 0; j < m; j++) {
        float inv = 1.0f / (counts[g * m + j] + 1.0f);
        for (int64_t k = 0; k < d; k++) dc[(g * m + j) * d + k] = dy[(g * m + j) * d + k] * inv;
      }
      for (int64_t i = 0; i < n; i++) {
        std::memcpy(dv + (g * n + i) * d, dc + (g * m + index[g * n + i]) * d, size_t(d) * sizeof(float));
      }
    }
  });
}

}  // namespace clue
