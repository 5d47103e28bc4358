// What the convolution kernels share: conv()'s modes and parameter block (conv.cc documents it),
// and 16-float vectors for the hand-written ones (depthwise.cc, narrowconv.cc).
#pragma once
#include <cstdint>

#pragma GCC diagnostic ignored "-Wpsabi"  // 64-byte vectors only inside always-inlined helpers

namespace clue {
namespace conv_common {

enum Mode { kForward = 0, kBackwardData = 1, kBackwardWeights = 2 };
// The parameters conv() takes: n, h, w, ci, ho, wo, co, fh, fw, sh, sw, dh, dw, padT, padL, padB, padR, groups.
enum { P_N = 0, P_H, P_W, P_CI, P_HO, P_WO, P_CO, P_FH, P_FW, P_SH, P_SW, P_DH, P_DW, P_PT, P_PL, P_PB, P_PR, P_G, P_COUNT };

// 16 floats, unaligned, may alias: lowered to one AVX-512, two AVX2 or four SSE registers by
// the target clone it is inlined into.
typedef float vf __attribute__((vector_size(64), aligned(4), may_alias));

inline __attribute__((always_inline)) vf load(const float* p) { return *reinterpret_cast<const vf*>(p); }
inline __attribute__((always_inline)) void store(float* p, vf v) { *reinterpret_cast<vf*>(p) = v; }

}  // namespace conv_common
}  // namespace clue
