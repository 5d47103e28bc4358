// One single-threaded matrix product, shared by the GEMM kernel (gemm.cc) and the fused kernels
// that multiply small blocks (cluster.cc).
#pragma once
#include <cstdint>

namespace clue {

/** One product op(A)·op(B) → C with explicit leading dimensions (row-major). */
struct Gemm {
  bool ta, tb;
  int64_t m, n, k, lda, ldb, ldc;
  const float* a;
  const float* b;
  float* c;
};

/**
 * C = op(A)·op(B) (+ bias, n values added to every row), or C += op(A)·op(B) with `accumulate`
 * (no bias), on the calling thread: the hand-written kernel (small_gemm.cc) for the shapes where
 * it beats oneDNN's, dnnl_sgemm for the rest.
 */
void gemm(const Gemm& g, bool accumulate = false, const float* bias = nullptr);

/**
 * The hand-written kernel: register-blocked FMAs over rows of C with op(B) in a packed panel, the
 * bias (null: none; ignored with `accumulate`) added as each tile of C is stored. Returns false
 * (and does nothing) where this CPU has neither AVX-512 nor AVX2 with FMA.
 */
bool smallGemm(const Gemm& g, bool accumulate, const float* bias = nullptr);

/**
 * The instruction set the hand-written kernels run on: 2 AVX-512, 1 AVX2 + FMA, 0 neither (they
 * are not built or this CPU lacks both). Detected once at load time; CLUE_SMALL_GEMM_ISA caps it.
 */
int smallGemmIsa();

/**
 * dst[p·ld + j] = src[j·sj + p] for p < k, j < n, and zeros for n ≤ j < ld: the hand-written
 * kernel's packing of a transposed B (8×8 blocks transposed in registers), for other kernels
 * that want rows as columns. Returns false (and does nothing) where smallGemm would.
 */
bool packTransposedPanel(float* dst, int64_t ld, const float* src, int64_t sj, int64_t k, int64_t n);

}  // namespace clue
