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

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CLUE_ATTENTION_AVX512 1
#include <immintrin.h>
#endif

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

#ifdef CLUE_ATTENTION_AVX512
// Register-blocked kernels for M = 16 centers (CLUENet's 4×4 cluster grids) and 16 or 32
// channels, on AVX-512: one vector holds a pixel's 16 scores (a lane per center), so the
// products are broadcast FMAs against 16-lane columns kept in registers, the softmax over N is
// lane-wise, and a group costs no GEMM calls, packing or score matrix beyond a 64-pixel block
// in L1. The general path (gemm calls per block) takes every other shape and CPU.
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx2,fma")
namespace attention512 {

using V = __m512;
constexpr int kLanes = 16;      // centers: one vector
constexpr int64_t kRows = 64;   // pixels per block: its scores, probabilities and k, v rows stay in L1
constexpr int64_t kStep = 4;    // pixels whose score sums and exps run interleaved (4 chains in flight)

static inline V bcast(float x) { return _mm512_set1_ps(x); }
static inline V load(const float* p) { return _mm512_loadu_ps(p); }
static inline void store(float* p, V x) { _mm512_storeu_ps(p, x); }

// expNonPositive (above) on 16 lanes: the same reduction and polynomial, 2^n by vscalefps.
static inline V expNonPositive(V x) {
  x = _mm512_max_ps(bcast(-87.0f), x);  // a NaN x is the second operand: it passes through
  const V n = _mm512_roundscale_ps(_mm512_mul_ps(x, bcast(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  V r = _mm512_fnmadd_ps(n, bcast(0.693359375f), x);
  r = _mm512_fmadd_ps(n, bcast(2.12194440e-4f), r);
  V p = bcast(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, bcast(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, bcast(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, bcast(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, bcast(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, bcast(5.0000001201e-1f));
  p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), bcast(1.0f));
  return _mm512_scalef_ps(p, n);
}

/** r ← rᵀ for a 16×16 block in 16 registers (row i of the result: lane i of each input). */
static inline void transpose16(V (&r)[kLanes]) {
  V t[kLanes];
#pragma GCC unroll 16
  for (int i = 0; i < kLanes; i += 2) {  // within 128-bit lanes: a0 b0 a1 b1 | a2 b2 a3 b3
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
#pragma GCC unroll 16
  for (int i = 0; i < kLanes; i += 4) {  // r[i + j]: column 4L + j of rows i..i+3 in 128-bit lane L
    const __m512d t0 = _mm512_castps_pd(t[i]), t1 = _mm512_castps_pd(t[i + 1]), t2 = _mm512_castps_pd(t[i + 2]), t3 = _mm512_castps_pd(t[i + 3]);
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
  }
#pragma GCC unroll 16
  for (int j = 0; j < 4; j++) {  // gather lane L of r[j], r[4 + j], r[8 + j], r[12 + j] into row 4L + j
    const V abLo = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x44), abHi = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xEE);
    const V cdLo = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x44), cdHi = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xEE);
    t[j] = _mm512_shuffle_f32x4(abLo, cdLo, 0x88);
    t[4 + j] = _mm512_shuffle_f32x4(abLo, cdLo, 0xDD);
    t[8 + j] = _mm512_shuffle_f32x4(abHi, cdHi, 0x88);
    t[12 + j] = _mm512_shuffle_f32x4(abHi, cdHi, 0xDD);
  }
#pragma GCC unroll 16
  for (int i = 0; i < kLanes; i++) r[i] = t[i];
}

/** t[c·16 + m] = a[m·C + c]: a [16, C] (row-major) as C columns of 16 lanes. */
template <int C>
static inline void transposeIn(float* __restrict t, const float* __restrict a) {
#pragma GCC unroll 16
  for (int h = 0; h < C; h += kLanes) {
    V r[kLanes];
#pragma GCC unroll 16
    for (int m = 0; m < kLanes; m++) r[m] = load(a + m * C + h);
    transpose16(r);
#pragma GCC unroll 16
    for (int c = 0; c < kLanes; c++) store(t + (h + c) * kLanes, r[c]);
  }
}

/** a[m·C + c] = t[c·16 + m]·scale[m]: C columns of 16 lanes, scaled per lane, back to [16, C] row-major. */
template <int C>
static inline void transposeOut(float* __restrict a, const float* __restrict t, V scale) {
#pragma GCC unroll 16
  for (int h = 0; h < C; h += kLanes) {
    V r[kLanes];
#pragma GCC unroll 16
    for (int c = 0; c < kLanes; c++) r[c] = _mm512_mul_ps(load(t + (h + c) * kLanes), scale);
    transpose16(r);
#pragma GCC unroll 16
    for (int m = 0; m < kLanes; m++) store(a + m * C + h, r[m]);
  }
}

/**
 * s[j] = Σ_c x_j[c]·cols[c] for `step` pixels x_j = x + j·ld (D channels each) against D
 * columns of 16 lanes: one pixel's 16 scores per vector, `step` independent FMA chains.
 */
template <int D, int step>
static inline void scoreRows(V* s, const float* x, int64_t ld, const V* cols) {
  const float* row[step];  // a pointer per pixel: each broadcast is then a constant offset from one
#pragma GCC unroll 4
  for (int j = 0; j < step; j++) {
    row[j] = x + j * ld;
    s[j] = _mm512_mul_ps(bcast(row[j][0]), cols[0]);
  }
#pragma GCC unroll 32
  for (int c = 1; c < D; c++) {
#pragma GCC unroll 4
    for (int j = 0; j < step; j++) s[j] = _mm512_fmadd_ps(bcast(row[j][c]), cols[c], s[j]);
  }
}

/** f(r, s[r]) for pixels r < rows of x (ld apart), s[r] = Σ_c x_r[c]·cols[c]: scoreRows kStep pixels at a time. */
template <int C, class F>
static inline void eachScore(const float* x, int64_t ld, int64_t rows, const V* cols, F&& f) {
  int64_t r = 0;
  for (; r + kStep <= rows; r += kStep) {
    V sc[kStep];
    scoreRows<C, kStep>(sc, x + r * ld, ld, cols);
#pragma GCC unroll 4
    for (int j = 0; j < kStep; j++) f(r + j, sc[j]);
  }
  for (; r < rows; r++) {
    V sc[1];
    scoreRows<C, 1>(sc, x + r * ld, ld, cols);
    f(r, sc[0]);
  }
}

/**
 * For pixels [0, rows): y[r] = Σ_m w[r·16 + m]·a[m] with a [16, E] row-major, stored at y + r·ld.
 * 16 channels at a time: their 16 row vectors and 8 pixels' accumulators fit the 32 registers.
 */
template <int E>
static inline void weightedRows(float* y, int64_t ld, const float* w, int64_t rows, const float* a) {
  constexpr int64_t step = 8;
  for (int h = 0; h < E; h += kLanes) {
    V rowsOf[kLanes];
#pragma GCC unroll 16
    for (int m = 0; m < kLanes; m++) rowsOf[m] = load(a + m * E + h);
    int64_t r = 0;
    for (; r + step <= rows; r += step) {
      V acc[step];
#pragma GCC unroll 8
      for (int j = 0; j < step; j++) acc[j] = _mm512_setzero_ps();
#pragma GCC unroll 16
      for (int m = 0; m < kLanes; m++)
#pragma GCC unroll 8
        for (int j = 0; j < step; j++) acc[j] = _mm512_fmadd_ps(bcast(w[(r + j) * kLanes + m]), rowsOf[m], acc[j]);
#pragma GCC unroll 8
      for (int j = 0; j < step; j++) store(y + (r + j) * ld + h, acc[j]);
    }
    for (; r < rows; r++) {
      V acc = _mm512_setzero_ps();
#pragma GCC unroll 16
      for (int m = 0; m < kLanes; m++) acc = _mm512_fmadd_ps(bcast(w[r * kLanes + m]), rowsOf[m], acc);
      store(y + r * ld + h, acc);
    }
  }
}

/** x[c] ← x[c]·scale for C columns in memory. */
template <int C>
static inline void scaleColumns(float* x, V scale) {
#pragma GCC unroll 32
  for (int c = 0; c < C; c++) store(x + c * kLanes, _mm512_mul_ps(load(x + c * kLanes), scale));
}

/** Σ of 16 float lanes added into two vectors of 8 doubles (the column sums' second level). */
static inline void addToDouble(__m512d& lo, __m512d& hi, V part) {
  lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(part)));
  hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(part, 1)));
}

/**
 * One group's forward: out [16, E] (row-major), mx and inv (16 each), from q [16, D] and pixel
 * rows k (D channels, ldk apart) and v (E channels, ldv apart). `s` is kRows·16 floats of scratch.
 */
template <int D, int E>
static void forwardGroup(float* __restrict out, float* __restrict mxOut, float* __restrict invOut, const float* __restrict q,
                         const float* __restrict k, int64_t ldk, const float* __restrict v, int64_t ldv, int64_t N, float* __restrict s) {
  alignas(64) float t[D * kLanes];
  alignas(64) float total[E * kLanes];  // out transposed: a column of 16 centers per channel
  transposeIn<D>(t, q);
  V qt[D];
#pragma GCC unroll 32
  for (int c = 0; c < D; c++) qt[c] = load(t + c * kLanes);
  V mx = bcast(-std::numeric_limits<float>::infinity());
  __m512d sumLo = _mm512_setzero_pd(), sumHi = _mm512_setzero_pd();
  for (int64_t n0 = 0; n0 < N; n0 += kRows) {
    const int64_t rows = std::min(kRows, N - n0);
    const float *kb = k + n0 * ldk, *vb = v + n0 * ldv;
    // Scores of the block, and its max per center.
    V blockMax = mx;
    eachScore<D>(kb, ldk, rows, qt, [&](int64_t r, V sc) {
      store(s + r * kLanes, sc);
      blockMax = _mm512_max_ps(blockMax, sc);
    });
    if (n0 > 0) {
      // A larger max: what was summed so far shrinks by exp(old − new) (1 where it did not grow).
      const V alpha = expNonPositive(_mm512_sub_ps(mx, blockMax));
      scaleColumns<E>(total, alpha);
      sumLo = _mm512_mul_pd(sumLo, _mm512_cvtps_pd(_mm512_castps512_ps256(alpha)));
      sumHi = _mm512_mul_pd(sumHi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(alpha, 1)));
    }
    mx = blockMax;
    // exp(scores − max), their sums, and outᵀ[c] += v[n, c]·p over the block (summed apart, then
    // added to the total: two levels, as accurate as the composition's blocked products).
    V acc[E];
#pragma GCC unroll 32
    for (int c = 0; c < E; c++) acc[c] = _mm512_setzero_ps();
    for (int64_t r0 = 0; r0 < rows; r0 += kSumRows) {
      V part = _mm512_setzero_ps();
      const int64_t r2 = std::min(rows, r0 + kSumRows);
      int64_t r1 = r0;
      for (; r1 + kStep <= r2; r1 += kStep) {  // kStep exps in flight
        V p[kStep];
        const float* vr[kStep];
#pragma GCC unroll 4
        for (int j = 0; j < kStep; j++) {
          p[j] = expNonPositive(_mm512_sub_ps(load(s + (r1 + j) * kLanes), mx));
          vr[j] = vb + (r1 + j) * ldv;
        }
        static_assert(kStep == 4, "the sums below add kStep = 4 pixels");
        part = _mm512_add_ps(part, _mm512_add_ps(_mm512_add_ps(p[0], p[1]), _mm512_add_ps(p[2], p[3])));
#pragma GCC unroll 4
        for (int j = 0; j < kStep; j++)
#pragma GCC unroll 32
          for (int c = 0; c < E; c++) acc[c] = _mm512_fmadd_ps(bcast(vr[j][c]), p[j], acc[c]);
      }
      for (; r1 < r2; r1++) {
        const V p = expNonPositive(_mm512_sub_ps(load(s + r1 * kLanes), mx));
        part = _mm512_add_ps(part, p);
        const float* vr = vb + r1 * ldv;
#pragma GCC unroll 32
        for (int c = 0; c < E; c++) acc[c] = _mm512_fmadd_ps(bcast(vr[c]), p, acc[c]);
      }
      addToDouble(sumLo, sumHi, part);
    }
#pragma GCC unroll 32
    for (int c = 0; c < E; c++) store(total + c * kLanes, n0 == 0 ? acc[c] : _mm512_add_ps(load(total + c * kLanes), acc[c]));
  }
  const V inv = _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(_mm512_div_pd(_mm512_set1_pd(1.0), sumLo))),
                                   _mm512_cvtpd_ps(_mm512_div_pd(_mm512_set1_pd(1.0), sumHi)), 1);
  store(mxOut, mx);
  store(invOut, inv);
  transposeOut<E>(out, total, inv);
}

/**
 * One group's backward: dq [16, D], and dk, dv in the pixel rows' layout, from dy, q, out
 * [16, ·], mx and inv (16 each), k and v. `p` and `ds` are kRows·16 floats of scratch each.
 */
template <int D, int E>
static void backwardGroup(float* __restrict dq, float* __restrict dk, float* __restrict dv, const float* __restrict dy,
                          const float* __restrict q, const float* __restrict out, const float* __restrict mxIn,
                          const float* __restrict invIn, const float* __restrict k, int64_t ldk, const float* __restrict v,
                          int64_t ldv, int64_t N, float* __restrict p, float* __restrict ds) {
  alignas(64) float qT[D * kLanes], dyT[E * kLanes], dqT[D * kLanes];
  transposeIn<D>(qT, q);
  transposeIn<E>(dyT, dy);
  // Δ[m] = dy[m]·out[m] (= Σ_n P·dP), summed over channels in the order dP's are below: with one
  // pixel (out = v) dP − Δ is then exactly 0, as it is mathematically.
  V deltaV;
  {
    alignas(64) float outT[E * kLanes];
    transposeIn<E>(outT, out);
    deltaV = _mm512_mul_ps(load(outT), load(dyT));
#pragma GCC unroll 32
    for (int c = 1; c < E; c++) deltaV = _mm512_fmadd_ps(load(outT + c * kLanes), load(dyT + c * kLanes), deltaV);
  }
  const V mx = load(mxIn), inv = load(invIn);
  for (int64_t n0 = 0; n0 < N; n0 += kRows) {
    const int64_t rows = std::min(kRows, N - n0);
    const float *kb = k + n0 * ldk, *vb = v + n0 * ldv;
    {
      // P = exp(scores − max)·inv, the probabilities.
      V cols[D];
#pragma GCC unroll 32
      for (int c = 0; c < D; c++) cols[c] = load(qT + c * kLanes);
      eachScore<D>(kb, ldk, rows, cols, [&](int64_t r, V sc) { store(p + r * kLanes, _mm512_mul_ps(expNonPositive(_mm512_sub_ps(sc, mx)), inv)); });
    }
    {
      // dS = P∘(dP − Δ), dP = v·dyᵀ.
      V cols[E];
#pragma GCC unroll 32
      for (int c = 0; c < E; c++) cols[c] = load(dyT + c * kLanes);
      eachScore<E>(vb, ldv, rows, cols, [&](int64_t r, V dp) { store(ds + r * kLanes, _mm512_mul_ps(load(p + r * kLanes), _mm512_sub_ps(dp, deltaV))); });
    }
    for (int h = 0; h < D; h += kLanes) {
      // dqᵀ[c] += Σ_n k[n, c]·dS[n], per block, then into the total; 16 channels at a time (registers).
      V acc[kLanes];
#pragma GCC unroll 16
      for (int c = 0; c < kLanes; c++) acc[c] = _mm512_setzero_ps();
      for (int64_t r = 0; r < rows; r++) {
        const V d = load(ds + r * kLanes);
        const float* kr = kb + r * ldk + h;
#pragma GCC unroll 16
        for (int c = 0; c < kLanes; c++) acc[c] = _mm512_fmadd_ps(bcast(kr[c]), d, acc[c]);
      }
      float* total = dqT + h * kLanes;
#pragma GCC unroll 16
      for (int c = 0; c < kLanes; c++) store(total + c * kLanes, n0 == 0 ? acc[c] : _mm512_add_ps(load(total + c * kLanes), acc[c]));
    }
    weightedRows<E>(dv + n0 * ldv, ldv, p, rows, dy);  // dv = P·dy
    weightedRows<D>(dk + n0 * ldk, ldk, ds, rows, q);  // dk = dS·q
  }
  transposeOut<D>(dq, dqT, bcast(1.0f));
}

using Forward = void (*)(float*, float*, float*, const float*, const float*, int64_t, const float*, int64_t, int64_t, float*);
using Backward = void (*)(float*, float*, float*, const float*, const float*, const float*, const float*, const float*, const float*, int64_t,
                          const float*, int64_t, int64_t, float*, float*);

}  // namespace attention512
#pragma GCC pop_options

/** The register-blocked kernels for this shape, or nulls: M = 16, d and dv 16 or 32, an AVX-512 CPU. */
struct FastKernels {
  attention512::Forward forward = nullptr;
  attention512::Backward backward = nullptr;
};

template <int D, int E>
static FastKernels fastKernelsOf() {
  return {&attention512::forwardGroup<D, E>, &attention512::backwardGroup<D, E>};
}

static FastKernels fastKernels(const AttentionShape& s) {
  if (s.m != attention512::kLanes || smallGemmIsa() < 2) return {};
  if (s.d == 16 && s.e == 16) return fastKernelsOf<16, 16>();
  if (s.d == 32 && s.e == 32) return fastKernelsOf<32, 32>();
  if (s.d == 16 && s.e == 32) return fastKernelsOf<16, 32>();
  if (s.d == 32 && s.e == 16) return fastKernelsOf<32, 16>();
  return {};
}
#endif

/**
 * softAggregate(out, stats, q, k, v, groups, m, n, d, dv, heads): out [G, M, dv] = softmax over N of
 * q·kᵀ, times v, for q [G, M, d], k [G, N, d] and v [G, N, dv] (or, heads > 1, k [B, N, heads·d]
 * and v [B, N, heads·dv] read in place: heads.h); stats [G, 2, M] gets each row's max score and the
 * reciprocal of its sum of exponentials (the backward recomputes the probabilities from them).
 * N beyond one block is taken block by block with a running max (online softmax). A last argument
 * `general` = 1 keeps to the general kernel where the register-blocked one would run (benchmarks).
 */
void softAggregate(const Args& args) {
  const AttentionShape s = attentionShape(args, 5);
  const int64_t G = s.groups, M = s.m, N = s.n, D = s.d, E = s.e, ldk = s.rows.heads * D, ldv = s.rows.heads * E;
  float* out = args.f32(0, size_t(G * M * E));
  float* stats = args.f32(1, size_t(G * 2 * M));
  const float* q = args.f32(2, size_t(G * M * D));
  const float* k = args.f32(3, size_t(G * N * D));
  const float* v = args.f32(4, size_t(G * N * E));
#ifdef CLUE_ATTENTION_AVX512
  const bool general = args.count() > 11 && args.integer(11) != 0;
  if (const attention512::Forward kernel = general ? nullptr : fastKernels(s).forward) {
    parallel_for(G, std::max<int64_t>(1, kGrain / std::max<int64_t>(M * N, 1)), [&](int64_t g0, int64_t g1) {
      alignas(64) float scratch[attention512::kRows * attention512::kLanes];
      for (int64_t g = g0; g < g1; g++) {
        kernel(out + g * M * E, stats + g * 2 * M, stats + g * 2 * M + M, q + g * M * D, k + s.rows.at(g, 0, D), ldk,
               v + s.rows.at(g, 0, E), ldv, N, scratch);
      }
    });
    return;
  }
#endif
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
 * A last argument `general` = 1: as in softAggregate.
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
#ifdef CLUE_ATTENTION_AVX512
  const bool general = args.count() > 15 && args.integer(15) != 0;
  if (const attention512::Backward kernel = general ? nullptr : fastKernels(s).backward) {
    parallel_for(G, std::max<int64_t>(1, kGrain / std::max<int64_t>(M * N, 1)), [&](int64_t g0, int64_t g1) {
      alignas(64) float p[attention512::kRows * attention512::kLanes], ds[attention512::kRows * attention512::kLanes];
      for (int64_t g = g0; g < g1; g++) {
        const int64_t atK = s.rows.at(g, 0, D), atV = s.rows.at(g, 0, E);
        kernel(dq + g * M * D, dk + atK, dv + atV, dy + g * M * E, q + g * M * D, out + g * M * E, stats + g * 2 * M, stats + g * 2 * M + M,
               k + atK, ldk, v + atV, ldv, N, p, ds);
      }
    });
    return;
  }
#endif
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
