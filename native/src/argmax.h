// The first maximum of a row, as argmax does, shared by the kernels that pick a center per pixel
// (cluster.cc, assign.cc).
#pragma once
#include <cstdint>
#include <cstring>

#include "parallel.h"

namespace clue {

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

}  // namespace clue
