// CLUENet's global soft aggregation, out[g, m] = Σ_n softmax_n(q[g, m]·k[g, n]) v[g, n], and its
// gradient, one kernel each way (flash-attention style): the [M, N] score matrix of a group lives
// in a per-thread block in cache and never goes to memory, where the composition (batch matMul,
// softmax, batch matMul, and their gradients) writes and re-reads it in about ten passes.
//
// Scores are kept transposed, [rows of N, M] (a pixel per row, a center per column): every product
// then takes k, v, q, dy as they lie (only the M×d operands get packed), and the softmax over N
// runs down the columns, one vector lane per center.
#include <limits>
#include <vector>

#include "gemm.h"
#include "heads.h"
#include "kernels.h"
#include "parallel.h"

namespace clue {

struct AttentionShape {
  int64_t groups, m, n, d, e;  // e: v's channels (d: q's and k's)
  HeadRows rows;   // where k's and v's pixels lie (and their gradients'): heads.h
  int64_t block;  // pixels per block: the block's scores (block × m floats) stay in L1/L2
};

static AttentionShape attentionShape(const Args& args, size_t first) {
  AttentionShape s{args.integer(first), args.integer(first + 1), args.integer(first + 2), args.integer(first + 3), args.integer(first + 4), {}, 0};
  if (s.groups < 0 || s.m < 0 || s.n < 1 || s.d < 0 || s.e < 0) {
    throw Error("softAggregate: needs groups, centers, pixels (≥ 1) and channels ≥ 0, got G=" + std::to_string(s.groups) +
                " M=" + std::to_string(s.m) + " N=" + std::to_string(s.n) + " d=" + std::to_string(s.d) + " dv=" + std::to_string(s.e));
  }
  s.rows = headRows(s.groups, s.n, args.integer(first + 5), "softAggregate");
  constexpr int64_t kBlockFloats = 1 << 14;  // 64 KB of scores
  s.block = std::min(s.n, std::max<int64_t>(8, kBlockFloats / std::max<int64_t>(s.m, 1)));
  return s;
}

// exp for the arguments softmax gives it, score − max ≤ 0: fexp (parallel.h) without its
// overflow, infinity and subnormal handling, 2.5× faster on CLUE_nano's score blocks (after the
// products, exp is the kernels' largest cost) and as accurate (8e-8 relative on [−87, 0]).
// Below −87 it gives exp(−87) ≈ 1.6e-38 instead of a smaller number: nothing next to the max's
// term, 1. Valid up to +88; NaN passes through.
inline float expNonPositive(float x) {
  float n;
  const float p = expMantissa(std::max(x, -87.0f), n);
  const int32_t bits = (int32_t(n) + 127) << 23;  // 2^n, n ≥ −126: a normal float
  float scale;
  std::memcpy(&scale, &bits, 4);
  const float y = p * scale;
  return x != x ? x : y;
}

// Column max of a [rows, m] block folded into `mx`.
CLUE_HOT static void columnMax(float* __restrict mx, const float* __restrict s, int64_t rows, int64_t m) {
  for (int64_t r = 0; r < rows; r++) {
    const float* sr = s + r * m;
#pragma omp simd
    for (int64_t j = 0; j < m; j++) mx[j] = std::max(mx[j], sr[j]);
  }
}

// Rows summed in float per run of kSumRows, each run then added in double: a column sum over
// thousands of pixels stays as accurate as the composition's (3× closer to exact at N = 1024).
constexpr int64_t kSumRows = 32;

// s ← exp(s − mx) in place, column sums added to `sum`; `part` is m floats of scratch.
CLUE_HOT static void expColumns(float* __restrict s, double* __restrict sum, float* __restrict part, const float* __restrict mx, int64_t rows,
                                int64_t m) {
  for (int64_t r0 = 0; r0 < rows; r0 += kSumRows) {
    for (int64_t j = 0; j < m; j++) part[j] = 0.0f;
    for (int64_t r = r0; r < std::min(rows, r0 + kSumRows); r++) {
      float* sr = s + r * m;
#pragma omp simd
      for (int64_t j = 0; j < m; j++) {
        const float e = expNonPositive(sr[j] - mx[j]);
        sr[j] = e;
        part[j] += e;
      }
    }
    for (int64_t j = 0; j < m; j++) sum[j] += double(part[j]);
  }
}

/**
 * softAggregate(out, stats, q, k, v, groups, m, n, d, dv, heads): out [G, M, dv] = softmax over N of
 * q·kᵀ, times v, for q [G, M, d], k [G, N, d] and v [G, N, dv] (or, heads > 1, k [B, N, heads·d]
 * and v [B, N, heads·dv] read in place: heads.h); stats [G, 2, M] gets each row's max score and the
 * reciprocal of its sum of exponentials (the backward recomputes the probabilities from them).
 * N beyond one block is taken block by block with a running max (online softmax).
 */
void softAggregate(const Args& args) {
  const AttentionShape s = attentionShape(args, 5);
  const int64_t G = s.groups, M = s.m, N = s.n, D = s.d, E = s.e, ldk = s.rows.heads * D, ldv = s.rows.heads * E;
  float* out = args.f32(0, size_t(G * M * E));
  float* stats = args.f32(1, size_t(G * 2 * M));
  const float* q = args.f32(2, size_t(G * M * D));
  const float* k = args.f32(3, size_t(G * N * D));
  const float* v = args.f32(4, size_t(G * N * E));
  parallel_for(G, std::max<int64_t>(1, kGrain / std::max<int64_t>(M * N, 1)), [&](int64_t g0, int64_t g1) {
    std::vector<float> scores(size_t(s.block * M)), blockMax(static_cast<size_t>(M)), part(static_cast<size_t>(M));
    std::vector<double> sum(static_cast<size_t>(M));
    for (int64_t g = g0; g < g1; g++) {
      const float* qg = q + g * M * D;
      float* og = out + g * M * E;
      float* mx = stats + g * 2 * M;
      float* inv = mx + M;
      for (int64_t n0 = 0; n0 < N; n0 += s.block) {
        const int64_t rows = std::min(s.block, N - n0);
        gemm(Gemm{false, true, rows, M, D, ldk, D, M, k + s.rows.at(g, n0, D), qg, scores.data()});
        std::fill(blockMax.begin(), blockMax.end(), -std::numeric_limits<float>::infinity());
        columnMax(blockMax.data(), scores.data(), rows, M);
        const bool first = n0 == 0;
        for (int64_t j = 0; j < M; j++) {
          if (first) {
            mx[j] = blockMax[j];
            sum[size_t(j)] = 0.0;
          } else if (blockMax[j] > mx[j]) {
            // A larger max: what was summed so far shrinks by exp(old − new).
            const float alpha = fexp(mx[j] - blockMax[j]);
            sum[size_t(j)] *= double(alpha);
            for (int64_t c = 0; c < E; c++) og[j * E + c] *= alpha;
            mx[j] = blockMax[j];
          }
        }
        expColumns(scores.data(), sum.data(), part.data(), mx, rows, M);
        // out[g] (+)= exp(scores)ᵀ · v_block
        gemm(Gemm{true, false, M, E, rows, M, ldv, E, scores.data(), v + s.rows.at(g, n0, E), og}, !first);
      }
      for (int64_t j = 0; j < M; j++) {
        inv[j] = float(1.0 / sum[size_t(j)]);
        for (int64_t c = 0; c < E; c++) og[j * E + c] *= inv[j];
      }
    }
  });
}

// p ← exp(s − mx)·inv (the probabilities, transposed); ds ← p·(dp − delta).
CLUE_HOT static void softmaxGradColumns(float* __restrict p, float* __restrict dp, const float* __restrict mx, const float* __restrict inv,
                                        const float* __restrict delta, int64_t rows, int64_t m) {
  for (int64_t r = 0; r < rows; r++) {
    float* pr = p + r * m;
    float* dr = dp + r * m;
#pragma omp simd
    for (int64_t j = 0; j < m; j++) {
      const float e = expNonPositive(pr[j] - mx[j]) * inv[j];
      pr[j] = e;
      dr[j] = e * (dr[j] - delta[j]);
    }
  }
}

/**
 * softAggregateGrad(dq, dk, dv, dy, q, k, v, out, stats, groups, m, n, d, dv, heads): the
 * gradients of softAggregate for upstream dy [G, M, dv], from its inputs, output and stats (dk
 * and dv in k's and v's layout). Per block of pixels, with P the probabilities and dP = dy·vᵀ:
 * dS = P∘(dP − Δ) with Δ[m] = dy[m]·out[m] (= Σ_n P·dP), dq = dS·k, dk = dSᵀ·q, dv = Pᵀ·dy.
 */
void softAggregateGrad(const Args& args) {
  const AttentionShape s = attentionShape(args, 9);
  const int64_t G = s.groups, M = s.m, N = s.n, D = s.d, E = s.e, ldk = s.rows.heads * D, ldv = s.rows.heads * E;
  float* dq = args.f32(0, size_t(G * M * D));
  float* dk = args.f32(1, size_t(G * N * D));
  float* dv = args.f32(2, size_t(G * N * E));
  const float* dy = args.f32(3, size_t(G * M * E));
  const float* q = args.f32(4, size_t(G * M * D));
  const float* k = args.f32(5, size_t(G * N * D));
  const float* v = args.f32(6, size_t(G * N * E));
  const float* out = args.f32(7, size_t(G * M * E));
  const float* stats = args.f32(8, size_t(G * 2 * M));
  parallel_for(G, std::max<int64_t>(1, kGrain / std::max<int64_t>(M * N, 1)), [&](int64_t g0, int64_t g1) {
    std::vector<float> p(size_t(s.block * M)), dp(size_t(s.block * M)), delta(static_cast<size_t>(M));
    for (int64_t g = g0; g < g1; g++) {
      const float *qg = q + g * M * D, *dyg = dy + g * M * E, *og = out + g * M * E;
      const float *mx = stats + g * 2 * M, *inv = mx + M;
      for (int64_t j = 0; j < M; j++) {
        float acc = 0.0f;
        for (int64_t c = 0; c < E; c++) acc += dyg[j * E + c] * og[j * E + c];
        delta[size_t(j)] = acc;
      }
      for (int64_t n0 = 0; n0 < N; n0 += s.block) {
        const int64_t rows = std::min(s.block, N - n0);
        const int64_t atK = s.rows.at(g, n0, D), atV = s.rows.at(g, n0, E);
        gemm(Gemm{false, true, rows, M, D, ldk, D, M, k + atK, qg, p.data()});    // scores
        gemm(Gemm{false, true, rows, M, E, ldv, E, M, v + atV, dyg, dp.data()});  // dP = v·dyᵀ
        softmaxGradColumns(p.data(), dp.data(), mx, inv, delta.data(), rows, M);
        gemm(Gemm{false, false, rows, E, M, M, E, ldv, p.data(), dyg, dv + atV});                   // dv = P·dy
        gemm(Gemm{false, false, rows, D, M, M, D, ldk, dp.data(), qg, dk + atK});                   // dk = dS·q
        gemm(Gemm{true, false, M, D, rows, M, ldk, D, dp.data(), k + atK, dq + g * M * D}, n0 > 0);  // dq += dSᵀ·k
      }
    }
  });
}

}  // namespace clue
