// The exact (erf) GELU and its derivative, one element at a time, inlined into the kernels that
// apply it (fused.cc's gelu / geluGrad, depthwise.cc's depthwise conv + bias + GELU): one
// definition, so the fused convolution computes bit for bit what the separate GELU kernels do.
//
// Φ and φ come from one exp: φ(x) = e/√(2π) with e = exp(−x²/2), and the normal tail
// Q = Φ(−|x|) = e·M(t), t = 1/(1 + 0.33|x|), M a degree-9 polynomial fitted for the least largest
// relative error of Q over |x| <= 13.5 (9e-9; past 13.16 e is 0), so Φ(x) = Q for x <= 0, 1 − Q
// above. Against a long-double reference over every 8th float in [−20, 20]: |error| <= 3.9e-7
// for gelu (under 1 ulp where that large, x ≈ 4.9) and 2.3e-7 for gelu', 1e-7 and 7 ulp on
// (−1, 1), relative 2e-5 in the negative tail down to the denormals (test/engine/native-gelu).
// This replaced Eigen's rational erf (TensorFlow's), whose 1 + erf cancels for x < 0 (Φ(−5) 30%
// off, 0 below −5.66; gelu 1.5e-6 and gelu' 2.3e-7 at most) and which with the derivative's exp
// took about 45 vector operations per 16 elements against 37 for both here.
#pragma once
#include "parallel.h"

namespace clue {

/**
 * exp(−x²/2), the Gaussian both Φ and φ are formed from: 2^w, w = −x²/2·log₂e, as 2^n·2^f with
 * n = round(w) and 2^f, |f| <= ½, a degree-6 polynomial (1.9e-9 relative, about 1.4 ulp as
 * evaluated). w itself is rounded, so e is off by up to |w|·2^-24 relative (1e-6 at x = 6):
 * what x² rounded to float already costs. 0 below w = −125, which keeps 2^n a normal float.
 */
inline float geluGauss(float x) {
  float w = x * x * -0.72134752044448170f;
  float n = std::nearbyint(std::max(w, -125.0f));
  float f = std::max(w, -125.0f) - n;
  float p = 1.534580515e-04f;
  p = p * f + 1.339993207e-03f;
  p = p * f + 9.618489072e-03f;
  p = p * f + 5.550328642e-02f;
  p = p * f + 2.402264625e-01f;
  p = p * f + 6.931471825e-01f;
  p = p * f + 1.0f;
  int32_t b = (int32_t(n) + 127) << 23;
  float s;
  std::memcpy(&s, &b, 4);
  return w < -125.0f ? 0.0f : p * s;
}

/** Φ(x) from e = geluGauss(x): the tail Q = Φ(−|x|) = e·M(1/(1 + 0.33|x|)), then Q or 1 − Q. */
inline float geluCdf(float x, float e) {
  float t = 1.0f / (1.0f + 0.33f * std::fabs(x));
  float m = -2.638842352e-02f;
  m = m * t + 1.512446254e-01f;
  m = m * t + -3.282530606e-01f;
  m = m * t + 2.990812361e-01f;
  m = m * t + -1.126124635e-01f;
  m = m * t + 1.488196552e-01f;
  m = m * t + 1.027789637e-01f;
  m = m * t + 1.338635832e-01f;
  m = m * t + 1.314586252e-01f;
  m = m * t + 7.263647149e-06f;
  float q = e * m;
  return x > 0.0f ? 1.0f - q : q;
}

/** gelu(x) = x·Φ(x), from e = geluGauss(x). */
inline float geluFromGauss(float x, float e) { return x * geluCdf(x, e); }

/** gelu'(x) = Φ(x) + x·φ(x), from e = geluGauss(x). */
inline float slopeFromGauss(float x, float e) { return geluCdf(x, e) + x * (0.39894228040143268f * e); }

/** gelu(x) = x·Φ(x) = ½x(1 + erf(x/√2)). */
inline float geluValue(float x) { return geluFromGauss(x, geluGauss(x)); }

/** gelu'(x) = Φ(x) + x·φ(x). */
inline float geluSlope(float x) { return slopeFromGauss(x, geluGauss(x)); }

/**
 * y = gelu(z) over n elements and, where slope is not null, slope = gelu'(z) (what a backward
 * pass needs of z), from one Φ per element: the same values geluValue / geluSlope give. y or
 * slope may be z itself (each element is read before it is written). Defined in fused.cc.
 */
void geluRows(float* y, float* slope, const float* z, int64_t n);

/**
 * geluRows for a producer that computes z a few rows at a time (depthwise.cc's depthwiseGelu),
 * meanwhile prefetching [prefetch, prefetch + prefetchFloats) (what the producer reads next) and
 * y's next n floats for writing, so memory streams while GELU computes. slope (apart from y and
 * z; y may be z) is written with non-temporal stores: it is kept for a backward pass much later,
 * so its lines need not be read in before they are overwritten, nor kept in cache.
 */
void geluRowsAhead(float* y, float* slope, const float* z, int64_t n, const float* prefetch, int64_t prefetchFloats);

}  // namespace clue
