// The exact (erf) GELU and its derivative, one element at a time, inlined into the kernels that
// apply it (fused.cc's gelu / geluGrad, depthwise.cc's depthwise conv + bias + GELU): one
// definition, so the fused convolution computes bit for bit what the separate GELU kernels do.
#pragma once
#include "parallel.h"

namespace clue {

/** gelu(x) = x·Φ(x) = ½x(1 + erf(x/√2)). */
inline float geluValue(float x) { return 0.5f * x * (1.0f + ferf(x * 0.70710678118654752f)); }

// exp(t) for the Gaussian's t = −x²/2 ≤ 0: no overflow to guard, and below −87 (where expf goes
// denormal) 0, so 2^n is one exponent build instead of fexp's two halves and special cases.
inline float expGaussian(float t) {
  const float lo = -87.0f;
  float n;
  float p = expMantissa(std::max(t, lo), n);
  int32_t b = (int32_t(n) + 127) << 23;
  float s;
  std::memcpy(&s, &b, 4);
  return t < lo ? 0.0f : p * s;
}

/** gelu'(x) = Φ(x) + x·φ(x). */
inline float geluSlope(float x) {
  float cdf = 0.5f * (1.0f + ferf(x * 0.70710678118654752f));
  float pdf = 0.39894228040143268f * expGaussian(-0.5f * x * x);
  return cdf + x * pdf;
}

}  // namespace clue
