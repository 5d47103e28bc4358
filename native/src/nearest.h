// The nearest-center kernel (nearest.cc) behind cluster.cc's nearestCenter.
#pragma once
#include <cstdint>

namespace clue {

/**
 * Points per vector of the nearest-center kernel on this CPU (16 with AVX-512, 8 with AVX2 + FMA),
 * or 0 where it has neither and the caller keeps to the GEMM + argmax composition.
 */
int nearestLanes();

/**
 * t[p·ld + i] = rows[i][p] / max(‖rows[i]‖₂, eps) for i < n, zeros for n ≤ i < ld (ld a multiple
 * of nearestLanes(), ≥ n): rows [n][d] normalised and transposed, one row per vector lane, the
 * sum of squares an FMA chain in p order.
 */
void nearestNormalized(float* t, int64_t ld, const float* rows, int64_t n, int64_t d, float eps);

/**
 * index[i] = the first j of the greatest Σ_p xt[p·ldx + i]·ct[p·ldc + j] for i < rows and j < m
 * (each sum an FMA chain from zero in p order), for points xt and centers ct as nearestNormalized
 * lays them out (ldx ≥ rows, ldc ≥ m). A NaN for center 0 wins as argmax has it, a later NaN
 * never does. Each lane's running maximum and its index stay in registers while the centers
 * stream past; no similarity is stored.
 */
void nearestBlock(int32_t* index, const float* xt, int64_t ldx, int64_t rows, const float* ct, int64_t ldc, int64_t m, int64_t d);

}  // namespace clue
