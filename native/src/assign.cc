// CLUENet's hard assignment and dispatch (lib/engine/fused/assign.ts) as kernels over the winners
// only: each pixel's score sigmoid(β + α·cos) at its best center, and the winner's center scaled
// by that score. The compositions multiply with [pixels × centers] one-hot matrices (O(N·M·d)
// each way, a dozen kernels); here only the assignment's forward pass touches all M centers.
// β + α·cos is rounded twice, as the composition's Multiply and Add kernels round it (no fused
// multiply-add), and the sigmoid is the Sigmoid kernel's, so the scores equal the composition's
// on this backend whenever the cosines do.
#include <vector>

#include "gemm.h"
#include "heads.h"
#include "kernels.h"
#include "parallel.h"

namespace clue {

// Pixels per GEMM: the block of cosines [M × rows] stays in L1 while it is scored.
static constexpr int64_t kAssignRows = 128;

// No contraction into a fused multiply-add here (the attribute, not a file-wide pragma: functions
// with other options, std::min among them, would not be inlined into the loops below).
__attribute__((optimize("fp-contract=off"))) CLUE_HOT static void affine(float* __restrict z, const float* __restrict x, int64_t size,
                                                                          float alpha, float beta) {
  for (int64_t i = 0; i < size; i++) {
    const float t = alpha * x[i];
    z[i] = beta + t;
  }
}

/**
 * For z = β + α·cos [m × rows] (a center's values for a block of pixels per row), each pixel's
 * first center of greatest sigmoid(z), that sigmoid and that cosine. Vertical over the pixels, so
 * every step is one vector operation: a center replaces the best so far only when its sigmoid is
 * strictly greater (the first of equal maxima wins, as argmax; a NaN at center 0 wins, a later NaN
 * never does).
 */
CLUE_HOT static void scoreBlock(int32_t* __restrict index, float* __restrict score, float* __restrict cosOut, const float* __restrict z,
                                const float* __restrict cos, int64_t rows, int64_t m) {
  for (int64_t r = 0; r < rows; r++) {
    index[r] = 0;
    score[r] = fsigmoid(z[r]);
    cosOut[r] = cos[r];
  }
  for (int64_t j = 1; j < m; j++) {
    const float* zj = z + j * rows;
    const float* cj = cos + j * rows;
    for (int64_t r = 0; r < rows; r++) {
      const float s = fsigmoid(zj[r]);
      const bool better = s > score[r];
      index[r] = better ? int32_t(j) : index[r];
      score[r] = better ? s : score[r];
      cosOut[r] = better ? cj[r] : cosOut[r];
    }
  }
}

static void checkIndex(const int32_t* index, int64_t size, int64_t m, const char* op) {
  for (int64_t i = 0; i < size; i++) {
    if (index[i] < 0 || index[i] >= m) {
      throw Error(std::string(op) + ": index " + std::to_string(index[i]) + " is not in [0, " + std::to_string(m - 1) + "]");
    }
  }
}

/**
 * clusterAssign(index, score, cos, keys, centers, alpha, beta, groups, n, m, d, heads): for
 * normalised keys [G, N, d] (or, heads > 1, [B, N, heads·d] read in place: heads.h) and centers
 * [G, M, d], index[g, i] = argmax_j sigmoid(β + α·keys[g, i]·centers[g, j]) (the first of equal maxima, as argmax does — comparing the sigmoids, which may tie where the
 * cosines do not), score = that sigmoid, cos = that cosine (kept for the gradient).
 */
void clusterAssign(const Args& args) {
  int64_t groups = args.integer(7), n = args.integer(8), m = args.integer(9), d = args.integer(10);
  const HeadRows at = headRows(groups, n, args.integer(11), "clusterAssign");
  float alpha = float(args.number(5)), beta = float(args.number(6));
  int32_t* index = args.i32(0, size_t(groups * n));
  float* score = args.f32(1, size_t(groups * n));
  float* cosOut = args.f32(2, size_t(groups * n));
  const float* keys = args.f32(3, size_t(groups * n * d));
  const float* centers = args.f32(4, size_t(groups * m * d));
  if (m <= 0 && groups * n > 0) throw Error("clusterAssign: there are no centers to choose from (M = 0)");
  int64_t tiles = (n + kAssignRows - 1) / kAssignRows;
  parallel_for(groups * tiles, std::max<int64_t>(1, kGrain / std::max<int64_t>(kAssignRows * m, 1)), [&](int64_t q0, int64_t q1) {
    std::vector<float> cos(size_t(kAssignRows * m)), z(size_t(kAssignRows * m));
    for (int64_t q = q0; q < q1; q++) {
      int64_t g = q / tiles, i0 = (q % tiles) * kAssignRows, rows = std::min(n, i0 + kAssignRows) - i0;
      int64_t r = g * n + i0;
      // cos [M × rows] = centers · keysᵀ: the centers' rows against the block's pixels
      gemm(Gemm{false, true, m, rows, d, d, at.heads * d, rows, centers + g * m * d, keys + at.at(g, i0, d), cos.data()});
      affine(z.data(), cos.data(), rows * m, alpha, beta);
      scoreBlock(index + r, score + r, cosOut + r, z.data(), cos.data(), rows, m);
    }
  });
}

// keys and dk: n rows `ld` floats apart.
CLUE_HOT static void assignGradGroup(float* __restrict dk, float* __restrict dc, double* sums, const float* ds, const int32_t* index,
                                     const float* score, const float* cos, const float* keys, const float* centers, float alpha, int64_t n,
                                     int64_t m, int64_t d, int64_t ld) {
  std::fill(dc, dc + m * d, 0.0f);
  double dAlpha = 0.0, dBeta = 0.0;
  for (int64_t i = 0; i < n; i++) {
    const float s = score[i];
    const float dz = ds[i] * (s * (1.0f - s));  // the sigmoid's gradient, in tfjs's order
    dBeta += double(dz);
    dAlpha += double(dz * cos[i]);
    const float t = dz * alpha;
    const float* c = centers + index[i] * d;
    const float* k = keys + i * ld;
    float* dki = dk + i * ld;
    float* dcj = dc + index[i] * d;
#pragma omp simd
    for (int64_t e = 0; e < d; e++) {
      dki[e] = t * c[e];
      dcj[e] += t * k[e];
    }
  }
  sums[0] = dAlpha;
  sums[1] = dBeta;
}

/**
 * clusterAssignGrad(dkeys, dcenters, dparams, dscore, index, score, cos, keys, centers, alpha,
 * groups, n, m, d, heads): the gradients of clusterAssign's score for upstream dscore (dkeys in
 * keys' layout). With dz = dscore·(s·(1 − s)) (the sigmoid's) and t = dz·α: dkeys[i] = t·centers[index[i]],
 * dcenters[j] = Σ_{i: index[i] = j} t·keys[i], dparams = [dα, dβ] = [Σ dz·cos, Σ dz]. The two
 * sums are taken per group in double and added in group order: deterministic.
 */
void clusterAssignGrad(const Args& args) {
  int64_t groups = args.integer(10), n = args.integer(11), m = args.integer(12), d = args.integer(13);
  const HeadRows at = headRows(groups, n, args.integer(14), "clusterAssignGrad");
  float alpha = float(args.number(9));
  float* dk = args.f32(0, size_t(groups * n * d));
  float* dc = args.f32(1, size_t(groups * m * d));
  float* dparams = args.f32(2, 2);
  const float* ds = args.f32(3, size_t(groups * n));
  const int32_t* index = args.i32(4, size_t(groups * n));
  const float* score = args.f32(5, size_t(groups * n));
  const float* cos = args.f32(6, size_t(groups * n));
  const float* keys = args.f32(7, size_t(groups * n * d));
  const float* centers = args.f32(8, size_t(groups * m * d));
  checkIndex(index, groups * n, m, "clusterAssignGrad");
  std::vector<double> sums(size_t(2 * groups), 0.0);
  parallel_for(groups, std::max<int64_t>(1, kGrain / std::max<int64_t>(n * d, 1)), [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; g++) {
      assignGradGroup(dk + at.at(g, 0, d), dc + g * m * d, &sums[size_t(2 * g)], ds + g * n, index + g * n, score + g * n, cos + g * n,
                      keys + at.at(g, 0, d), centers + g * m * d, alpha, n, m, d, at.heads * d);
    }
  });
  double dAlpha = 0.0, dBeta = 0.0;
  for (int64_t g = 0; g < groups; g++) {
    dAlpha += sums[size_t(2 * g)];
    dBeta += sums[size_t(2 * g + 1)];
  }
  dparams[0] = float(dAlpha);
  dparams[1] = float(dBeta);
}

// dscore's dot products may be summed in any order (a reduction in lanes): the composition's
// GEMM has its own order too. dy: n rows `ld` floats apart.
CLUE_HOT static void dispatchGradGroup(float* __restrict dscore, float* __restrict dc, const float* dy, const int32_t* index, const float* score,
                                       const float* centers, int64_t n, int64_t m, int64_t d, int64_t ld) {
  std::fill(dc, dc + m * d, 0.0f);
  for (int64_t i = 0; i < n; i++) {
    const float s = score[i];
    const float* c = centers + index[i] * d;
    const float* y = dy + i * ld;
    float* dcj = dc + index[i] * d;
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (int64_t e = 0; e < d; e++) {
      dot += y[e] * c[e];
      dcj[e] += s * y[e];
    }
    dscore[i] = dot;
  }
}

// The output rows of pixels [p0, p1) (pixel p = b·N + i), in memory order: a row per head h,
// from group g = h·B + b (heads = 1: pixel p is group p / n's pixel p mod n).
CLUE_HOT static void dispatchRows(float* __restrict out, const int32_t* index, const float* score, const float* centers, int64_t p0, int64_t p1,
                                  int64_t m, int64_t d, const HeadRows& at) {
  const int64_t batch = at.groups / at.heads, n = at.n;
  for (int64_t p = p0; p < p1; p++) {
    const int64_t b = p / n, i = p - b * n;
    for (int64_t h = 0; h < at.heads; h++) {
      const int64_t g = h * batch + b, gi = g * n + i;
      const float s = score[gi];
      const float* c = centers + (g * m + index[gi]) * d;
      float* o = out + (p * at.heads + h) * d;
#pragma omp simd
      for (int64_t e = 0; e < d; e++) o[e] = s * c[e];
    }
  }
}

/**
 * clusterDispatch(out, index, score, centers, groups, n, m, d, heads): out[g, i] = score[g, i]·centers[g, index[g, i]]
 * — the product with the one-hot matrix scaled by the scores, which has this one term per row —
 * into out [G, N, d] (or, heads > 1, [B, N, heads·d]: heads.h).
 */
void clusterDispatch(const Args& args) {
  int64_t groups = args.integer(4), n = args.integer(5), m = args.integer(6), d = args.integer(7);
  const HeadRows at = headRows(groups, n, args.integer(8), "clusterDispatch");
  float* out = args.f32(0, size_t(groups * n * d));
  const int32_t* index = args.i32(1, size_t(groups * n));
  const float* score = args.f32(2, size_t(groups * n));
  const float* centers = args.f32(3, size_t(groups * m * d));
  checkIndex(index, groups * n, m, "clusterDispatch");
  parallel_for(groups / at.heads * n, std::max<int64_t>(1, kGrain / std::max<int64_t>(at.heads * d, 1)),
               [&](int64_t p0, int64_t p1) { dispatchRows(out, index, score, centers, p0, p1, m, d, at); });
}

/**
 * clusterDispatchGrad(dscore, dcenters, dy, index, score, centers, groups, n, m, d, heads) for dy
 * in the output's layout: dscore[i] = dy[i]·centers[index[i]],
 * dcenters[j] = Σ_{i: index[i] = j} score[i]·dy[i].
 */
void clusterDispatchGrad(const Args& args) {
  int64_t groups = args.integer(6), n = args.integer(7), m = args.integer(8), d = args.integer(9);
  const HeadRows at = headRows(groups, n, args.integer(10), "clusterDispatchGrad");
  float* dscore = args.f32(0, size_t(groups * n));
  float* dc = args.f32(1, size_t(groups * m * d));
  const float* dy = args.f32(2, size_t(groups * n * d));
  const int32_t* index = args.i32(3, size_t(groups * n));
  const float* score = args.f32(4, size_t(groups * n));
  const float* centers = args.f32(5, size_t(groups * m * d));
  checkIndex(index, groups * n, m, "clusterDispatchGrad");
  parallel_for(groups, std::max<int64_t>(1, kGrain / std::max<int64_t>(n * d, 1)), [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; g++) {
      dispatchGradGroup(dscore + g * n, dc + g * m * d, dy + at.at(g, 0, d), index + g * n, score + g * n, centers + g * m * d, n, m, d,
                        at.heads * d);
    }
  });
}

}  // namespace clue
