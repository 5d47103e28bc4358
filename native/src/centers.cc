// Fused kernels of cluster centers (lib/engine/fused/centers.ts): the temperature-scaled L2
// normalisation of pooled keys, and the gated mix of aggregated and pooled centers through a
// small per-head MLP. Their compositions are a dozen tiny kernels each way (scalars, [G, M, 1]
// gates); here each direction is one call.
#include <string>
#include <vector>

#include "gelu.h"
#include "gemm.h"
#include "kernels.h"
#include "parallel.h"

namespace clue {

static constexpr float kEps = 1e-12f;  // l2Normalize's ε (PyTorch's F.normalize)

/** 1/exp(max(alpha, floor)) as the composition rounds it: each op's result to float. */
static float temperedScale(float alpha, float floor) {
  const float e = float(std::exp(double(std::max(alpha, floor))));
  return float(1.0 / double(e));
}

/**
 * Where row o of the groups [heads·B, M, cols] lies in x: x itself in groups (heads 1) or as
 * channels-last rows [B, M, heads·cols] (heads.h), rowsPerHead = B·M.
 */
struct RowsOf {
  int64_t heads, rowsPerHead, cols;
  int64_t operator()(int64_t o) const { return heads == 1 ? o * cols : ((o % rowsPerHead) * heads + o / rowsPerHead) * cols; }
};

CLUE_HOT static void temperedRows(float* __restrict y, const float* __restrict x, RowsOf at, int64_t r0, int64_t r1, int64_t cols, float s) {
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + at(r);
    float* yr = y + r * cols;
    float ss = 0.0f;
    for (int64_t j = 0; j < cols; j++) ss += xr[j] * xr[j];
    const float n = std::max(std::sqrt(ss), kEps);
    for (int64_t j = 0; j < cols; j++) yr[j] = xr[j] / n * s;
  }
}

/** dx rows and each row's Σ dy·x̂ (into partial[r]). */
CLUE_HOT static void temperedGradRows(float* __restrict dx, float* __restrict partial, const float* __restrict dy, const float* __restrict x,
                                      RowsOf at, int64_t r0, int64_t r1, int64_t cols, float s) {
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + at(r);
    const float* gr = dy + r * cols;
    float* dr = dx + at(r);
    float ss = 0.0f, dot = 0.0f;
    for (int64_t j = 0; j < cols; j++) {
      ss += xr[j] * xr[j];
      dot += xr[j] * gr[j];
    }
    const float n = std::sqrt(ss);
    const bool big = n >= kEps;
    // Below ε the forward divided by the constant ε: dx = s·dy/ε.
    const float inv = 1.0f / (big ? n : kEps);
    const float k = big ? dot * inv * inv : 0.0f;
    for (int64_t j = 0; j < cols; j++) dr[j] = s * (gr[j] - xr[j] * k) * inv;
    partial[r] = dot * inv;
  }
}

static RowsOf rowsOf(int64_t heads, int64_t rows, int64_t cols, const char* op) {
  if (heads < 1 || rows % heads != 0) throw Error(std::string(op) + ": heads must be ≥ 1 and divide the rows");
  return RowsOf{heads, rows / heads, cols};
}

/**
 * temperedNormalize(y, x, alpha, rows, cols, floor, heads): y = x / max(‖x‖₂, ε) · s along each
 * row, s = 1/exp(max(alpha[0], floor)); y is groups [heads·B, M, cols], x the same or (heads > 1)
 * channels-last rows [B, M, heads·cols].
 */
void temperedNormalize(const Args& args) {
  const int64_t rows = args.integer(3), cols = args.integer(4);
  const float floor = float(args.number(5));
  float* y = args.f32(0, size_t(rows * cols));
  const float* x = args.f32(1, size_t(rows * cols));
  const float s = temperedScale(args.f32(2, 1)[0], floor);
  const RowsOf at = rowsOf(args.integer(6), rows, cols, "temperedNormalize");
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)), [&](int64_t r0, int64_t r1) { temperedRows(y, x, at, r0, r1, cols, s); });
}

/**
 * temperedNormalizeGrad(dx, dalpha, dy, x, alpha, rows, cols, floor, heads): dx (in x's layout) = s·l2NormalizeGrad(dy)
 * and dalpha[0] = −s·Σ dy·x̂ where alpha ≥ floor (the maximum passes its gradient to alpha on
 * ties, as tf.maximum's does), else 0. Row partials are summed in row order: deterministic.
 */
void temperedNormalizeGrad(const Args& args) {
  const int64_t rows = args.integer(5), cols = args.integer(6);
  const float floor = float(args.number(7));
  float* dx = args.f32(0, size_t(rows * cols));
  float* dalpha = args.f32(1, 1);
  const float* dy = args.f32(2, size_t(rows * cols));
  const float* x = args.f32(3, size_t(rows * cols));
  const float alpha = args.f32(4, 1)[0];
  const float s = temperedScale(alpha, floor);
  const RowsOf at = rowsOf(args.integer(8), rows, cols, "temperedNormalizeGrad");
  std::vector<float> partial(size_t(std::max<int64_t>(rows, 1)));
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)),
               [&](int64_t r0, int64_t r1) { temperedGradRows(dx, partial.data(), dy, x, at, r0, r1, cols, s); });
  double sum = 0.0;
  for (int64_t r = 0; r < rows; r++) sum += partial[size_t(r)];
  dalpha[0] = alpha >= floor ? float(-double(s) * sum) : 0.0f;
}

// ---- gated mix ----------------------------------------------------------------------------

/** Rows of one head a task takes: a fixed cut, so the weight-gradient partials (one per task) and their sum do not depend on the threads. */
static constexpr int64_t kMixRows = 256;

struct MixShape {
  int64_t heads, rows, d, hidden;
  /** p as channels-last rows [B, M, heads·d] (heads.h) instead of groups [heads·B, M, d]. */
  bool pRows;
  int64_t tasksPerHead() const { return (rows + kMixRows - 1) / kMixRows; }
  /** Where row r of head h of p begins, and p's row stride. */
  int64_t pAt(int64_t h, int64_t r) const { return pRows ? (r * heads + h) * d : (h * rows + r) * d; }
  int64_t ldp() const { return pRows ? heads * d : d; }
};

struct MixWeights {
  const float* w1;  // [heads, 2d, hidden]: rows 0..d−1 act on a, d..2d−1 on p
  const float* b1;  // [heads, hidden]
  const float* w2;  // [heads, hidden]
  const float* b2;  // [heads]
};

// The elementwise passes, flat over arrays so they vectorise (in the target clones).
CLUE_HOT static void geluTo(float* __restrict y, const float* __restrict x, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = geluValue(x[i]);
}

/** g = sigmoid(h1·w2 + b2) for n rows of k hidden units. */
CLUE_HOT static void gateOut(float* __restrict g, const float* __restrict h1, const float* __restrict w2, float b2, int64_t n, int64_t k) {
  for (int64_t i = 0; i < n; i++) {
    float acc = 0.0f;
    for (int64_t j = 0; j < k; j++) acc += h1[i * k + j] * w2[j];
    g[i] = acc + b2;
  }
  for (int64_t i = 0; i < n; i++) g[i] = fsigmoid(g[i]);
}

CLUE_HOT static void mixRows(float* __restrict out, const float* __restrict a, const float* __restrict p, int64_t ldp, const float* __restrict g,
                             int64_t n, int64_t d) {
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i], keep = 1.0f - gi;
    for (int64_t c = 0; c < d; c++) out[i * d + c] = keep * a[i * d + c] + gi * p[i * ldp + c];
  }
}

/** da = dy·(1 − g), dp = dy·g, and dz2 = (Σ dy·(p − a))·g·(1 − g), the gradient at the gate's logit. */
CLUE_HOT static void mixGradRows(float* __restrict da, float* __restrict dp, float* __restrict dz2, const float* __restrict dy,
                                 const float* __restrict a, const float* __restrict p, int64_t ldp, const float* __restrict g, int64_t n, int64_t d) {
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i], keep = 1.0f - gi;
    float dg = 0.0f;
    for (int64_t c = 0; c < d; c++) {
      const float y = dy[i * d + c];
      dg += y * (p[i * ldp + c] - a[i * d + c]);
      da[i * d + c] = y * keep;
      dp[i * ldp + c] = y * gi;
    }
    dz2[i] = dg * gi * keep;
  }
}

/** dz = t·gelu'(z) in place of t. */
CLUE_HOT static void geluSlopeTimes(float* __restrict t, const float* __restrict z, int64_t n) {
  for (int64_t i = 0; i < n; i++) t[i] *= geluSlope(z[i]);
}

/**
 * The gate of rows [r0, r0 + n) of head h: z (pre-GELU hidden, n × hidden), h1 = gelu(z), g (n).
 * z = a·W1a + b1 + p·W1p, g = sigmoid(h1·w2 + b2).
 */
static void gateRows(const MixShape& sh, const MixWeights& w, const float* a, const float* p, int64_t h, int64_t r0, int64_t n, float* z,
                     float* h1, float* g) {
  const int64_t d = sh.d, k = sh.hidden;
  const float* ah = a + (h * sh.rows + r0) * d;
  const float* ph = p + sh.pAt(h, r0);
  const float* w1 = w.w1 + h * 2 * d * k;
  gemm(Gemm{false, false, n, k, d, d, k, k, ah, w1, z}, false, w.b1 + h * k);
  gemm(Gemm{false, false, n, k, d, sh.ldp(), k, k, ph, w1 + d * k, z}, true);
  geluTo(h1, z, n * k);
  gateOut(g, h1, w.w2 + h * k, w.b2[h], n, k);
}

static MixShape mixShape(const Args& args, size_t at) {
  MixShape sh{args.integer(at), args.integer(at + 1), args.integer(at + 2), args.integer(at + 3), args.integer(at + 4) != 0};
  if (sh.heads < 1 || sh.rows < 0 || sh.d < 1 || sh.hidden < 1) throw Error("gatedMix: need heads ≥ 1, rows ≥ 0, d ≥ 1, hidden ≥ 1");
  return sh;
}

static MixWeights mixWeights(const Args& args, size_t at, const MixShape& sh) {
  return MixWeights{args.f32(at, size_t(sh.heads * 2 * sh.d * sh.hidden)), args.f32(at + 1, size_t(sh.heads * sh.hidden)),
                    args.f32(at + 2, size_t(sh.heads * sh.hidden)), args.f32(at + 3, size_t(sh.heads))};
}

/** Runs f(h, r0, n, task) for every task (head h, rows r0 … r0+n) on the pool. */
template <class F>
static void forTasks(const MixShape& sh, F&& f) {
  const int64_t per = sh.tasksPerHead(), tasks = sh.heads * per;
  parallel_for(tasks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; t++) {
      const int64_t h = t / per, r0 = (t % per) * kMixRows;
      f(h, r0, std::min(kMixRows, sh.rows - r0), t);
    }
  });
}

/**
 * gatedMix(out, a, p, w1, b1, w2, b2, heads, rows, d, hidden, pRows): per head h and row r (a,
 * out [heads, rows, d]; p the same, or with pRows channels-last rows [B, M, heads·d], rows = B·M),
 * g = sigmoid(w2ᵀ·gelu(W1ᵀ·[a; p] + b1) + b2), out = (1 − g)·a + g·p.
 */
void gatedMix(const Args& args) {
  const MixShape sh = mixShape(args, 7);
  const int64_t size = sh.heads * sh.rows * sh.d;
  float* out = args.f32(0, size_t(size));
  const float* a = args.f32(1, size_t(size));
  const float* p = args.f32(2, size_t(size));
  const MixWeights w = mixWeights(args, 3, sh);
  const int64_t d = sh.d, k = sh.hidden;
  forTasks(sh, [&](int64_t h, int64_t r0, int64_t n, int64_t) {
    std::vector<float> z(static_cast<size_t>(n * k)), h1(static_cast<size_t>(n * k)), g(static_cast<size_t>(n));
    gateRows(sh, w, a, p, h, r0, n, z.data(), h1.data(), g.data());
    const int64_t base = (h * sh.rows + r0) * d;
    mixRows(out + base, a + base, p + sh.pAt(h, r0), sh.ldp(), g.data(), n, d);
  });
}

/**
 * gatedMixGrad(da, dp, dw1, db1, dw2, db2, dy, a, p, w1, b1, w2, b2, heads, rows, d, hidden, pRows):
 * the gradients of gatedMix w.r.t. every input, dp in p's layout (the gate recomputed). The
 * weight gradients sum one partial per task of kMixRows rows, in task order.
 */
void gatedMixGrad(const Args& args) {
  const MixShape sh = mixShape(args, 13);
  const int64_t size = sh.heads * sh.rows * sh.d;
  const int64_t d = sh.d, k = sh.hidden, w1Size = 2 * d * k;
  float* da = args.f32(0, size_t(size));
  float* dp = args.f32(1, size_t(size));
  float* dw1 = args.f32(2, size_t(sh.heads * w1Size));
  float* db1 = args.f32(3, size_t(sh.heads * k));
  float* dw2 = args.f32(4, size_t(sh.heads * k));
  float* db2 = args.f32(5, size_t(sh.heads));
  const float* dy = args.f32(6, size_t(size));
  const float* a = args.f32(7, size_t(size));
  const float* p = args.f32(8, size_t(size));
  const MixWeights w = mixWeights(args, 9, sh);
  // Per task: dW1 (2d·k), db1 (k), dw2 (k), db2 (1).
  const int64_t stride = w1Size + 2 * k + 1, per = sh.tasksPerHead();
  std::vector<float> partials(size_t(std::max<int64_t>(sh.heads * per, 1) * stride), 0.0f);
  forTasks(sh, [&](int64_t h, int64_t r0, int64_t n, int64_t t) {
    std::vector<float> z(static_cast<size_t>(n * k)), h1(static_cast<size_t>(n * k)), g(static_cast<size_t>(n));
    gateRows(sh, w, a, p, h, r0, n, z.data(), h1.data(), g.data());
    float* part = partials.data() + t * stride;
    float* pW1 = part;
    float* pB1 = part + w1Size;
    float* pW2 = pB1 + k;
    float* pB2 = pW2 + k;
    const float* w1 = w.w1 + h * w1Size;
    const float* w2 = w.w2 + h * k;
    const int64_t base = (h * sh.rows + r0) * d;
    std::vector<float> dz2(static_cast<size_t>(n)), dz(static_cast<size_t>(n * k));
    const int64_t pBase = sh.pAt(h, r0), ldp = sh.ldp();
    mixGradRows(da + base, dp + pBase, dz2.data(), dy + base, a + base, p + pBase, ldp, g.data(), n, d);
    for (int64_t i = 0; i < n; i++) {
      const float t = dz2[size_t(i)];
      pB2[0] += t;
      for (int64_t j = 0; j < k; j++) {
        pW2[j] += t * h1[size_t(i * k + j)];
        dz[size_t(i * k + j)] = t * w2[j];
      }
    }
    geluSlopeTimes(dz.data(), z.data(), n * k);
    for (int64_t i = 0; i < n; i++) {
      for (int64_t j = 0; j < k; j++) pB1[j] += dz[size_t(i * k + j)];
    }
    const float* ah = a + base;
    const float* ph = p + pBase;
    // dW1a = aᵀ·dz, dW1p = pᵀ·dz; da += dz·W1aᵀ, dp += dz·W1pᵀ.
    gemm(Gemm{true, false, d, k, n, d, k, k, ah, dz.data(), pW1});
    gemm(Gemm{true, false, d, k, n, ldp, k, k, ph, dz.data(), pW1 + d * k});
    gemm(Gemm{false, true, n, d, k, k, k, d, dz.data(), w1, da + base}, true);
    gemm(Gemm{false, true, n, d, k, k, k, ldp, dz.data(), w1 + d * k, dp + pBase}, true);
  });
  for (int64_t h = 0; h < sh.heads; h++) {
    float* oW1 = dw1 + h * w1Size;
    float* oB1 = db1 + h * k;
    float* oW2 = dw2 + h * k;
    std::fill(oW1, oW1 + w1Size, 0.0f);
    std::fill(oB1, oB1 + k, 0.0f);
    std::fill(oW2, oW2 + k, 0.0f);
    db2[h] = 0.0f;
    for (int64_t t = h * per; t < (h + 1) * per; t++) {
      const float* part = partials.data() + t * stride;
      for (int64_t j = 0; j < w1Size; j++) oW1[j] += part[j];
      for (int64_t j = 0; j < k; j++) {
        oB1[j] += part[w1Size + j];
        oW2[j] += part[w1Size + k + j];
      }
      db2[h] += part[w1Size + 2 * k];
    }
  }
}

}  // namespace clue
