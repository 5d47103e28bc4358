// Per-head groups read in place from channels-last rows: CLUENet's token mixer keeps its pixel
// tensors as [B, N, heads·d] (head-major channels), and its fused kernels see G = heads·B groups
// [N, d] with group g = h·B + b. Reading them here saves the transposes to [heads·B, N, d] and back.
#pragma once
#include <cstdint>
#include <string>

#include "kernels.h"

namespace clue {

struct HeadRows {
  int64_t groups, n, heads;

  /** Where group g's pixel i begins in an operand of `width` channels per head (rows heads·width apart). */
  int64_t at(int64_t g, int64_t i, int64_t width) const {
    const int64_t batch = groups / heads;
    return (((g % batch) * n + i) * heads + g / batch) * width;
  }
};

inline HeadRows headRows(int64_t groups, int64_t n, int64_t heads, const char* op) {
  if (heads < 1 || groups % heads != 0) {
    throw Error(std::string(op) + ": heads must be ≥ 1 and divide the groups, got heads=" + std::to_string(heads) + " G=" + std::to_string(groups));
  }
  return HeadRows{groups, n, heads};
}

}  // namespace clue
