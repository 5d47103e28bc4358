// The nearest-center kernel: for a block of normalised points, the index of the most similar
// normalised center, without storing the similarities. The GEMM + argmax composition it replaces
// spends its time storing and re-reading a points × centers block for a short inner dimension
// (16 FMAs per similarity in CLUE_nano); here the points lie across the lanes of a vector (one
// point per lane, transposed), each center is a broadcast, and every lane keeps its running
// maximum and index in registers. Compiled for AVX-512 and for AVX2 + FMA (nearest_body.h, once
// per instruction set), on the instruction set small_gemm.cc chose at load time.
#include "nearest.h"

#include "gemm.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CLUE_NEAREST_SIMD 1
#include <immintrin.h>
#endif

namespace clue {

#ifdef CLUE_NEAREST_SIMD

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
namespace avx512 {
using V = __m512;
using IV = __m512i;
constexpr int W = 16;
// One vector of points against 8 centers at a time (each center a broadcast operand of its FMAs):
// 8 accumulators, the points, best and index.
// More registers bought nothing on Zen 4 (d = 16, one thread: 1×8 and 1×12 ~104 GFLOP/s, 4×4 ~101,
// 2×8 and 2×6 95–97): the sweep is at the FMA peak bar the compares.
constexpr int kRows = 1;
constexpr int kCenters = 8;
static inline V zero() { return _mm512_setzero_ps(); }
static inline IV izero() { return _mm512_setzero_si512(); }
static inline V bcast(float x) { return _mm512_set1_ps(x); }
static inline V load(const float* p) { return _mm512_loadu_ps(p); }
static inline void store(float* p, V x) { _mm512_storeu_ps(p, x); }
static inline V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
static inline V vmax(V a, V b) { return _mm512_max_ps(a, b); }
static inline V vsqrt(V x) { return _mm512_sqrt_ps(x); }
static inline V vdiv(V a, V b) { return _mm512_div_ps(a, b); }
static inline void take(V& best, IV& at, V s, int32_t j) {
  const __mmask16 gt = _mm512_cmp_ps_mask(s, best, _CMP_GT_OQ);  // false for a NaN either side
  best = _mm512_mask_mov_ps(best, gt, s);
  at = _mm512_mask_set1_epi32(at, gt, j);
}
static inline void storeIndex(int32_t* p, IV x) { _mm512_storeu_si512(p, x); }
#include "nearest_body.h"
}  // namespace avx512
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
using V = __m256;
using IV = __m256i;
constexpr int W = 8;
// Two vectors of points share each broadcast (AVX2 has no broadcast operand): 8 accumulators, 2
// points, 2 bests and indices, a broadcast and a mask in 16 registers. On Zen 4 capped at AVX2
// (d = 16, one thread): 2×4 and 2×5 ~89 GFLOP/s, 1×6, 1×8 and 1×10 ~69.
constexpr int kRows = 2;
constexpr int kCenters = 4;
static inline V zero() { return _mm256_setzero_ps(); }
static inline IV izero() { return _mm256_setzero_si256(); }
static inline V bcast(float x) { return _mm256_set1_ps(x); }
static inline V load(const float* p) { return _mm256_loadu_ps(p); }
static inline void store(float* p, V x) { _mm256_storeu_ps(p, x); }
static inline V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
static inline V vmax(V a, V b) { return _mm256_max_ps(a, b); }
static inline V vsqrt(V x) { return _mm256_sqrt_ps(x); }
static inline V vdiv(V a, V b) { return _mm256_div_ps(a, b); }
static inline void take(V& best, IV& at, V s, int32_t j) {
  const V gt = _mm256_cmp_ps(s, best, _CMP_GT_OQ);  // false for a NaN either side
  best = _mm256_blendv_ps(best, s, gt);
  at = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(at), _mm256_castsi256_ps(_mm256_set1_epi32(j)), gt));
}
static inline void storeIndex(int32_t* p, IV x) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), x); }
#include "nearest_body.h"
}  // namespace avx2
#pragma GCC pop_options

// The small GEMM's instruction set (its packing transposes our blocks), read at each call: a
// static here could be initialised before small_gemm.cc's.
int nearestLanes() {
  const int isa = smallGemmIsa();
  return isa == 2 ? avx512::W : isa == 1 ? avx2::W : 0;
}

void nearestNormalized(float* t, int64_t ld, const float* rows, int64_t n, int64_t d, float eps) {
  const int isa = smallGemmIsa();
  if (isa == 2) avx512::normalized(t, ld, rows, n, d, eps);
  else if (isa == 1) avx2::normalized(t, ld, rows, n, d, eps);
}

void nearestBlock(int32_t* index, const float* xt, int64_t ldx, int64_t rows, const float* ct, int64_t ldc, int64_t m, int64_t d) {
  const int isa = smallGemmIsa();
  if (isa == 2) avx512::block(index, xt, ldx, rows, ct, ldc, m, d);
  else if (isa == 1) avx2::block(index, xt, ldx, rows, ct, ldc, m, d);
}

#else

int nearestLanes() { return 0; }
void nearestNormalized(float*, int64_t, const float*, int64_t, int64_t, float) {}
void nearestBlock(int32_t*, const float*, int64_t, int64_t, const float*, int64_t, int64_t, int64_t) {}

#endif

}  // namespace clue
