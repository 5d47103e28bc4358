// A hand-written GEMM for the products oneDNN's sgemm handles poorly: a small inner or outer
// dimension (16–64) with a long other one, and large batches of tiny products, where sgemm's
// per-call setup and packing cost more than the arithmetic. op(B) is packed into a panel of whole
// vectors (unless its rows already are), and each tile of C is R rows × up to 4 vectors held in
// registers, one FMA per vector per step of the inner dimension, started from the bias: a tall A
// is read once and C written once. Compiled for AVX-512 and for
// AVX2+FMA (small_gemm_body.h, once per instruction set), chosen at load time.
#include "gemm.h"

#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CLUE_SMALL_GEMM 1
#include <immintrin.h>
#endif

namespace clue {

#ifdef CLUE_SMALL_GEMM

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
namespace avx512 {
using V = __m512;
constexpr int W = 16;
constexpr int kMaxNV = 4;
// Accumulators + B vectors + a broadcast stay within the 32 vector registers.
constexpr int rowsFor(int nv) { return nv == 1 ? 8 : nv == 2 ? 8 : 6; }
static inline V zero() { return _mm512_setzero_ps(); }
static inline V bcast(float x) { return _mm512_set1_ps(x); }
static inline V load(const float* p) { return _mm512_loadu_ps(p); }
static inline V loadPart(const float* p, int n) { return _mm512_maskz_loadu_ps(__mmask16((1u << n) - 1), p); }
static inline void store(float* p, V x) { _mm512_storeu_ps(p, x); }
static inline void storePart(float* p, int n, V x) { _mm512_mask_storeu_ps(p, __mmask16((1u << n) - 1), x); }
static inline V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
#include "small_gemm_body.h"
}  // namespace avx512
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
using V = __m256;
constexpr int W = 8;
constexpr int kMaxNV = 4;
// 16 vector registers: at most 12 accumulators.
constexpr int rowsFor(int nv) { return nv == 1 ? 8 : nv == 2 ? 6 : nv == 3 ? 4 : 3; }
static inline V zero() { return _mm256_setzero_ps(); }
static inline V bcast(float x) { return _mm256_set1_ps(x); }
static inline V load(const float* p) { return _mm256_loadu_ps(p); }
static inline __m256i maskOf(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
static inline V loadPart(const float* p, int n) { return _mm256_maskload_ps(p, maskOf(n)); }
static inline void store(float* p, V x) { _mm256_storeu_ps(p, x); }
static inline void storePart(float* p, int n, V x) { _mm256_maskstore_ps(p, maskOf(n), x); }
static inline V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
#include "small_gemm_body.h"
}  // namespace avx2
#pragma GCC pop_options

// 2: AVX-512, 1: AVX2 + FMA, 0: neither. CLUE_SMALL_GEMM_ISA caps it (a build that tests the
// AVX2 path on an AVX-512 machine).
#ifndef CLUE_SMALL_GEMM_ISA
#define CLUE_SMALL_GEMM_ISA 2
#endif
static int detectIsa() {
  __builtin_cpu_init();
  if (CLUE_SMALL_GEMM_ISA >= 2 && __builtin_cpu_supports("avx512f")) return 2;
  if (CLUE_SMALL_GEMM_ISA >= 1 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
  return 0;
}
static const int kIsa = detectIsa();

int smallGemmIsa() { return kIsa; }

bool smallGemm(const Gemm& g, bool accumulate, const float* bias) {
  switch (kIsa) {
    case 2: avx512::run(g, accumulate, bias); return true;
    case 1: avx2::run(g, accumulate, bias); return true;
    default: return false;
  }
}

bool packTransposedPanel(float* dst, int64_t ld, const float* src, int64_t sj, int64_t k, int64_t n) {
  switch (kIsa) {
    case 2: avx512::packTransposed(dst, ld, src, sj, k, n); return true;
    case 1: avx2::packTransposed(dst, ld, src, sj, k, n); return true;
    default: return false;
  }
}

#else

bool smallGemm(const Gemm&, bool, const float*) { return false; }
int smallGemmIsa() { return 0; }
bool packTransposedPanel(float*, int64_t, const float*, int64_t, int64_t, int64_t) { return false; }

#endif

}  // namespace clue
