// Walking two strided views of the same index space.
#pragma once
#include <cstdint>
#include <vector>

namespace clue {

/**
 * Drops size-1 dimensions and merges adjacent ones that both views walk contiguously (the outer
 * stride equals the inner stride times the inner size, for each view), so most copies and
 * broadcasts become a few long rows. Innermost last; an all-ones shape becomes [1] with strides 0.
 */
inline void collapseDims(std::vector<int64_t>& shape, std::vector<int64_t>& sa, std::vector<int64_t>& sb) {
  std::vector<int64_t> s2, a2, b2;
  for (size_t i = 0; i < shape.size(); i++) {
    if (shape[i] == 1) continue;
    if (!s2.empty() && a2.back() == sa[i] * shape[i] && b2.back() == sb[i] * shape[i]) {
      s2.back() *= shape[i];
      a2.back() = sa[i];
      b2.back() = sb[i];
    } else {
      s2.push_back(shape[i]);
      a2.push_back(sa[i]);
      b2.push_back(sb[i]);
    }
  }
  if (s2.empty()) {
    s2.push_back(1);
    a2.push_back(0);
    b2.push_back(0);
  }
  shape.swap(s2);
  sa.swap(a2);
  sb.swap(b2);
}

}  // namespace clue
