// Average pooling whose windows tile the image (stride = window, no padding: CLUENet's cluster
// pooling over 2×2, 4×4 and 8×8 blocks), forward and gradient, NHWC. The forward reads x once,
// front to back, adding each input row into the output row's window sums; the gradient, which for
// disjoint windows is dy / area broadcast over each window, writes dx once. oneDNN's general
// pooling (conv.cc) keeps every other geometry.
#include <vector>

#include "kernels.h"
#include "parallel.h"

namespace clue {

// Floats read or written per chunk of the pool: both kernels stream memory, one core at L3 speed
// covers 4 MB in ~60 µs, and smaller pieces handed to the pool's other thread made a training
// step's pools slower, not faster, on this shared 2-core machine (as for the column sums in reduce.cc).
constexpr int64_t kStreamGrain = 1 << 20;

/**
 * One output row of the forward: y[ow, :] = inv · Σ_{i<fh, j<fw} x[i·rowStride + (ow·fw + j)·C + :].
 * The fh input rows are read one after the other, each front to back (one sequential stream, which
 * the prefetchers follow best when x comes from DRAM), into the row of window sums in y itself.
 */
template <int C>
__attribute__((always_inline)) inline void avgPoolRowFixed(float* __restrict y, const float* __restrict x, int64_t wo, int64_t fh,
                                                           int64_t fw, int64_t rowStride, float inv) {
  for (int64_t i = 0; i < fh; i++) {
    const float* row = x + i * rowStride;
    const bool first = i == 0, last = i == fh - 1;
    for (int64_t ow = 0; ow < wo; ow++) {
      float acc[C];
#pragma omp simd
      for (int k = 0; k < C; k++) acc[k] = first ? 0.0f : y[ow * C + k];
      const float* px = row + ow * fw * C;
      for (int64_t j = 0; j < fw; j++)
#pragma omp simd
        for (int k = 0; k < C; k++) acc[k] += px[j * C + k];
#pragma omp simd
      for (int k = 0; k < C; k++) y[ow * C + k] = last ? acc[k] * inv : acc[k];
    }
  }
}

CLUE_HOT static void avgPoolRow(float* __restrict y, const float* __restrict x, int64_t wo, int64_t fh, int64_t fw, int64_t rowStride,
                                int64_t c, float inv) {
  switch (c) {
    case 16: return avgPoolRowFixed<16>(y, x, wo, fh, fw, rowStride, inv);
    case 32: return avgPoolRowFixed<32>(y, x, wo, fh, fw, rowStride, inv);
    case 64: return avgPoolRowFixed<64>(y, x, wo, fh, fw, rowStride, inv);
    case 128: return avgPoolRowFixed<128>(y, x, wo, fh, fw, rowStride, inv);
    default: break;
  }
  // Other channel counts: the same order, the sums kept in y.
  std::fill(y, y + wo * c, 0.0f);
  for (int64_t i = 0; i < fh; i++) {
    const float* row = x + i * rowStride;
    for (int64_t ow = 0; ow < wo; ow++) {
      float* acc = y + ow * c;
      for (int64_t j = 0; j < fw; j++) {
        const float* px = row + (ow * fw + j) * c;
#pragma omp simd
        for (int64_t k = 0; k < c; k++) acc[k] += px[k];
      }
    }
  }
#pragma omp simd
  for (int64_t k = 0; k < wo * c; k++) y[k] *= inv;
}

/** One input row of the gradient: dx[ow·fw + j, :] = inv · dy[ow, :]; the `tail` floats after the last window get 0. */
template <int C>
__attribute__((always_inline)) inline void avgPoolGradRowFixed(float* __restrict dx, const float* __restrict dy, int64_t wo, int64_t fw,
                                                               int64_t tail, float inv) {
  for (int64_t ow = 0; ow < wo; ow++) {
    float v[C];
#pragma omp simd
    for (int k = 0; k < C; k++) v[k] = dy[ow * C + k] * inv;
    float* out = dx + ow * fw * C;
    for (int64_t j = 0; j < fw; j++)
#pragma omp simd
      for (int k = 0; k < C; k++) out[j * C + k] = v[k];
  }
  std::fill(dx + wo * fw * C, dx + wo * fw * C + tail, 0.0f);
}

CLUE_HOT static void avgPoolGradRow(float* __restrict dx, const float* __restrict dy, int64_t wo, int64_t fw, int64_t c, int64_t tail,
                                    float inv) {
  switch (c) {
    case 16: return avgPoolGradRowFixed<16>(dx, dy, wo, fw, tail, inv);
    case 32: return avgPoolGradRowFixed<32>(dx, dy, wo, fw, tail, inv);
    case 64: return avgPoolGradRowFixed<64>(dx, dy, wo, fw, tail, inv);
    case 128: return avgPoolGradRowFixed<128>(dx, dy, wo, fw, tail, inv);
    default: break;
  }
  for (int64_t ow = 0; ow < wo; ow++) {
    for (int64_t j = 0; j < fw; j++) {
      float* out = dx + (ow * fw + j) * c;
#pragma omp simd
      for (int64_t k = 0; k < c; k++) out[k] = dy[ow * c + k] * inv;
    }
  }
  std::fill(dx + wo * fw * c, dx + wo * fw * c + tail, 0.0f);
}

/**
 * avgPoolTiles(mode, out, in, params): average pooling with windows that tile the image, params
 * as pool's (conv.cc): [n, h, w, c, ho, wo, fh, fw, sh, sw, padTop, padLeft, padBottom, padRight],
 * with strides equal to the window, no padding, ho·fh ≤ h and wo·fw ≤ w (rows and columns past the
 * last window are not read, and get zero gradient). Mode 0: out = y [n, ho, wo, c] from x; mode 1:
 * out = dx [n, h, w, c] from dy. Sums in float, scaled by 1 / (fh·fw).
 */
void avgPoolTiles(const Args& args) {
  const int mode = int(args.integer(0));
  std::vector<int64_t> p = args.ints(3);
  if (p.size() != 14) throw Error("avgPoolTiles: expected 14 parameters");
  if (mode != 0 && mode != 1) throw Error("avgPoolTiles: unknown mode " + std::to_string(mode) + " (0 forward, 1 gradient)");
  const int64_t n = p[0], h = p[1], w = p[2], c = p[3], ho = p[4], wo = p[5], fh = p[6], fw = p[7];
  for (int64_t v : p)
    if (v < 0) throw Error("avgPoolTiles: negative parameter");
  if (fh < 1 || fw < 1 || p[8] != fh || p[9] != fw || p[10] || p[11] || p[12] || p[13] || ho * fh > h || wo * fw > w) {
    throw Error("avgPoolTiles: the windows must tile the image (strides equal to the window, no padding); use pool");
  }
  const float inv = 1.0f / float(fh * fw);
  const int64_t rowStride = w * c;
  if (mode == 0) {
    float* y = args.f32(1, size_t(n * ho * wo * c));
    const float* x = args.f32(2, size_t(n * h * w * c));
    parallel_for(n * ho, std::max<int64_t>(1, kStreamGrain / std::max<int64_t>(fh * rowStride, 1)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; r++) {
        const int64_t b = r / std::max<int64_t>(ho, 1), oh = r % std::max<int64_t>(ho, 1);
        avgPoolRow(y + r * wo * c, x + (b * h + oh * fh) * rowStride, wo, fh, fw, rowStride, c, inv);
      }
    });
    return;
  }
  float* dx = args.f32(1, size_t(n * h * w * c));
  const float* dy = args.f32(2, size_t(n * ho * wo * c));
  const int64_t tail = (w - wo * fw) * c;
  parallel_for(n * h, std::max<int64_t>(1, kStreamGrain / std::max<int64_t>(rowStride, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const int64_t b = r / h, ih = r % h, oh = ih / fh;
      float* row = dx + r * rowStride;
      if (oh >= ho) std::fill(row, row + rowStride, 0.0f);
      else avgPoolGradRow(row, dy + (b * ho + oh) * wo * c, wo, fw, c, tail, inv);
    }
  });
}

/**
 * poolSpreadAdd(dx, skip, dy, n, h, w, c, gh, gw): dx [n, h, w, c] = skip + dy [n, gh, gw, c] spread
 * over the gh×gw equal windows ÷ their area: the gradient of a map that is both used as it is and
 * average-pooled (passAndPool), the tape's AvgPoolGrad and Add in one write of dx.
 */
void poolSpreadAdd(const Args& args) {
  const int64_t n = args.integer(3), h = args.integer(4), w = args.integer(5), c = args.integer(6), gh = args.integer(7), gw = args.integer(8);
  if (n < 0 || h < 1 || w < 1 || c < 1 || gh < 1 || gw < 1 || h % gh || w % gw) {
    throw Error("poolSpreadAdd: needs a gh×gw grid of equal windows (gh dividing h, gw dividing w)");
  }
  const int64_t fh = h / gh, fw = w / gw, rowStride = w * c;
  const size_t size = size_t(n * h * rowStride);
  float* dx = args.f32(0, size);
  const float* skip = args.f32(1, size);
  const float* dy = args.f32(2, size_t(n * gh * gw * c));
  const float inv = 1.0f / float(fh * fw);
  parallel_for(n * h, std::max<int64_t>(1, kStreamGrain / std::max<int64_t>(rowStride, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* g = dy + (r / h * gh + r % h / fh) * gw * c;
      const float* in = skip + r * rowStride;
      float* out = dx + r * rowStride;
      for (int64_t ow = 0; ow < gw; ow++)
        for (int64_t j = 0; j < fw; j++) {
          const int64_t at = (ow * fw + j) * c;
#pragma omp simd
          for (int64_t k = 0; k < c; k++) out[at + k] = in[at + k] + g[ow * c + k] * inv;
        }
    }
  });
}

}  // namespace clue
