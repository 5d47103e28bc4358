// Dense 2-D convolution over inputs with few channels (a network's stem: a 3×3 window over 1–4
// channels), forward with bias and gradient w.r.t. the filter, in NHWC with TensorFlow's HWIO
// filters; lib/engine/native/kernels/conv.ts (narrowDense) routes here where it measured faster
// than oneDNN. One filter row of such a convolution reads fw·ci consecutive floats of an input row
// (KW, a template parameter: the inner loops unroll fully and the accumulators stay in registers);
// each input row is first copied into a zero-padded buffer, so the edges need no branches.
// Output channels in 16s, dilation 1, any stride and padding.
#include <algorithm>
#include <vector>

#include "conv_common.h"
#include "kernels.h"
#include "parallel.h"

namespace clue {

namespace {

using namespace conv_common;

struct Geometry {
  int64_t n, h, w, ci, ho, wo, co, fh, fw, sh, sw, pt, pl;
  int64_t kw;  // fw·ci: consecutive floats one filter row reads
  int64_t wp;  // padded row width in pixels: pl zeros, the row, zeros up to what the last output reads
  explicit Geometry(const std::vector<int64_t>& p) {
    if (p.size() != P_COUNT) throw Error("narrowConv: expected 18 parameters");
    n = p[P_N], h = p[P_H], w = p[P_W], ci = p[P_CI], ho = p[P_HO], wo = p[P_WO], co = p[P_CO], fh = p[P_FH], fw = p[P_FW];
    sh = p[P_SH], sw = p[P_SW], pt = p[P_PT], pl = p[P_PL];
    if (p[P_G] != 1 || p[P_DH] != 1 || p[P_DW] != 1) throw Error("narrowConv: only groups 1 and dilation 1 (use conv)");
    if (co % 16 != 0) throw Error("narrowConv: output channels must be a multiple of 16 (use conv)");
    if (sh < 1 || sw < 1 || fh < 1 || fw < 1 || pt < 0 || pl < 0) throw Error("narrowConv: strides and filter sizes must be >= 1, padding >= 0");
    kw = fw * ci;
    wp = std::max(pl + w, (wo - 1) * sw + fw);
  }
};

/** The filter row widths (fw·ci) with compiled kernels: 3×3 windows over 1–4 channels, 1×1 over 3. */
inline bool supportedWidth(int64_t kw) { return kw == 3 || kw == 6 || kw == 9 || kw == 12; }

/** Copies input row xrow (w pixels of ci) into pad[wp·ci], pl zero pixels before it, zeros after. */
inline void padRow(float* pad, const float* xrow, const Geometry& g) {
  int64_t lead = g.pl * g.ci, body = g.w * g.ci;
  std::fill(pad, pad + lead, 0.0f);
  std::copy(xrow, xrow + body, pad + lead);
  std::fill(pad + lead + body, pad + g.wp * g.ci, 0.0f);
}

/**
 * NP output pixels, channels [cb, cb + 16): out[p·co] = bias + Σ_r Σ_j rows[r][p·pstep + j] ·
 * filters[r][j·co]; each filter vector loaded serves NP pixels, each input float is broadcast.
 */
template <int KW, int NP>
inline __attribute__((always_inline)) void forwardBlock(float* __restrict out, const float* const* rows, const float* const* filters, int nrows,
                                                        int64_t pstep, const float* bias, int64_t co) {
  vf acc[NP];
#pragma GCC unroll 16
  for (int p = 0; p < NP; p++) acc[p] = bias ? load(bias) : vf{};
  for (int r = 0; r < nrows; r++) {
    const float* s = rows[r];
    const float* f = filters[r];
#pragma GCC unroll 12
    for (int j = 0; j < KW; j++) {
      vf wv = load(f + j * co);
#pragma GCC unroll 16
      for (int p = 0; p < NP; p++) acc[p] += s[p * pstep + j] * wv;
    }
  }
#pragma GCC unroll 16
  for (int p = 0; p < NP; p++) store(out + p * co, acc[p]);
}

/** Output rows [r0, r1) (row = image·ho + oy) of y. */
template <int KW>
inline __attribute__((always_inline)) void forwardRows(float* y, const float* x, const float* filter, const float* bias, int64_t r0, int64_t r1,
                                                       const Geometry& g) {
  std::vector<float> pad(size_t(g.fh * g.wp * g.ci));
  std::vector<const float*> rows(size_t(g.fh)), filterRows(size_t(g.fh)), filters(size_t(g.fh)), shifted(size_t(g.fh));
  const int64_t pstep = g.sw * g.ci;
  for (int64_t r = r0; r < r1; r++) {
    int64_t b = r / g.ho, oy = r % g.ho;
    int nrows = 0;
    for (int64_t ky = 0; ky < g.fh; ky++) {
      int64_t iy = oy * g.sh - g.pt + ky;
      if (iy < 0 || iy >= g.h) continue;  // a zero row adds nothing
      float* dst = pad.data() + nrows * g.wp * g.ci;
      padRow(dst, x + (b * g.h + iy) * g.w * g.ci, g);
      rows[size_t(nrows)] = dst;
      filterRows[size_t(nrows)] = filter + ky * KW * g.co;
      nrows++;
    }
    float* yrow = y + r * g.wo * g.co;
    for (int64_t cb = 0; cb < g.co; cb += 16) {
      const float* bb = bias ? bias + cb : nullptr;
      for (int i = 0; i < nrows; i++) filters[size_t(i)] = filterRows[size_t(i)] + cb;
      int64_t ox = 0;
      auto at = [&](int64_t o) {
        for (int i = 0; i < nrows; i++) shifted[size_t(i)] = rows[size_t(i)] + o * pstep;
        return shifted.data();
      };
      for (; ox + 16 <= g.wo; ox += 16) forwardBlock<KW, 16>(yrow + ox * g.co + cb, at(ox), filters.data(), nrows, pstep, bb, g.co);
      for (; ox + 8 <= g.wo; ox += 8) forwardBlock<KW, 8>(yrow + ox * g.co + cb, at(ox), filters.data(), nrows, pstep, bb, g.co);
      for (; ox + 4 <= g.wo; ox += 4) forwardBlock<KW, 4>(yrow + ox * g.co + cb, at(ox), filters.data(), nrows, pstep, bb, g.co);
      for (; ox < g.wo; ox++) forwardBlock<KW, 1>(yrow + ox * g.co + cb, at(ox), filters.data(), nrows, pstep, bb, g.co);
    }
  }
}

CLUE_HOT void forwardRowsAny(float* y, const float* x, const float* filter, const float* bias, int64_t r0, int64_t r1, const Geometry& g) {
  switch (g.kw) {
    case 3: forwardRows<3>(y, x, filter, bias, r0, r1, g); break;
    case 6: forwardRows<6>(y, x, filter, bias, r0, r1, g); break;
    case 9: forwardRows<9>(y, x, filter, bias, r0, r1, g); break;
    case 12: forwardRows<12>(y, x, filter, bias, r0, r1, g); break;
    default: break;
  }
}

/**
 * dW rows for one filter row: acc[j] (channels [cb, cb + 16)) += Σ_ox src[ox·pstep + j] ·
 * dy[ox·co] over wo output pixels, in pixel order; the KW accumulators stay in registers.
 */
template <int KW>
inline __attribute__((always_inline)) void filterRow(float* __restrict acc, const float* __restrict src, const float* __restrict dy, int64_t wo,
                                                     int64_t pstep, int64_t co) {
  vf a[KW];
#pragma GCC unroll 12
  for (int j = 0; j < KW; j++) a[j] = load(acc + j * co);
  for (int64_t ox = 0; ox < wo; ox++) {
    vf gv = load(dy + ox * co);
    const float* s = src + ox * pstep;
#pragma GCC unroll 12
    for (int j = 0; j < KW; j++) a[j] += s[j] * gv;
  }
#pragma GCC unroll 12
  for (int j = 0; j < KW; j++) store(acc + j * co, a[j]);
}

/** part (fh·fw·ci·co, HWIO) += the filter gradient of output rows [r0, r1), summed row by row in order. */
template <int KW>
inline __attribute__((always_inline)) void filterRows(float* part, const float* x, const float* dy, int64_t r0, int64_t r1, const Geometry& g) {
  std::vector<float> pad(size_t(g.wp * g.ci));
  const int64_t pstep = g.sw * g.ci;
  for (int64_t r = r0; r < r1; r++) {
    int64_t b = r / g.ho, oy = r % g.ho;
    const float* dyrow = dy + r * g.wo * g.co;
    for (int64_t ky = 0; ky < g.fh; ky++) {
      int64_t iy = oy * g.sh - g.pt + ky;
      if (iy < 0 || iy >= g.h) continue;
      padRow(pad.data(), x + (b * g.h + iy) * g.w * g.ci, g);
      for (int64_t cb = 0; cb < g.co; cb += 16) filterRow<KW>(part + ky * KW * g.co + cb, pad.data(), dyrow + cb, g.wo, pstep, g.co);
    }
  }
}

CLUE_HOT void filterRowsAny(float* part, const float* x, const float* dy, int64_t r0, int64_t r1, const Geometry& g) {
  switch (g.kw) {
    case 3: filterRows<3>(part, x, dy, r0, r1, g); break;
    case 6: filterRows<6>(part, x, dy, r0, r1, g); break;
    case 9: filterRows<9>(part, x, dy, r0, r1, g); break;
    case 12: filterRows<12>(part, x, dy, r0, r1, g); break;
    default: break;
  }
}

/** Chunks of the filter gradient: a fixed cut of the output rows, whatever the thread count (≤ 16, ≥ ~64 k multiply-adds each). */
int64_t filterChunks(const Geometry& g) {
  int64_t rows = g.n * g.ho, rowWork = std::max<int64_t>(1, g.wo * g.co * g.fh * g.kw);
  return std::max<int64_t>(1, std::min<int64_t>({16, rows, rows * rowWork / (int64_t(1) << 16)}));
}

}  // namespace

/**
 * narrowConv(mode, out, in1, in2, params, bias|null): conv()'s modes 0 (out = y from x, filter,
 * plus bias [co] if given) and 2 (out = dFilter from x, dy) with conv()'s parameter block, for
 * groups 1, dilation 1, co a multiple of 16 and fw·ci in {3, 6, 9, 12}. The filter gradient sums
 * a fixed cut of the output rows per chunk, then the chunks in order: the same result for any
 * number of threads.
 */
void narrowConv(const Args& args) {
  int mode = int(args.integer(0));
  const Geometry g(args.ints(4));
  if (!supportedWidth(g.kw)) throw Error("narrowConv: filter width × input channels must be 3, 6, 9 or 12 (use conv)");
  int64_t xImage = g.h * g.w * g.ci, yImage = g.ho * g.wo * g.co;
  size_t wSize = size_t(g.fh * g.kw * g.co);
  if (mode == kForward) {
    float* y = args.f32(1, size_t(g.n * yImage));
    const float* x = args.f32(2, size_t(g.n * xImage));
    const float* filter = args.f32(3, wSize);
    const float* bias = args.count() > 5 && !args.isNull(5) ? args.f32(5, size_t(g.co)) : nullptr;
    int64_t rowWork = std::max<int64_t>(1, g.wo * g.co * g.fh * g.kw);
    parallel_for(g.n * g.ho, std::max<int64_t>(1, (int64_t(1) << 16) / rowWork),
                 [&](int64_t r0, int64_t r1) { forwardRowsAny(y, x, filter, bias, r0, r1, g); });
  } else if (mode == kBackwardWeights) {
    float* dW = args.f32(1, wSize);
    const float* x = args.f32(2, size_t(g.n * xImage));
    const float* dy = args.f32(3, size_t(g.n * yImage));
    int64_t chunks = filterChunks(g);
    std::vector<float> partials(size_t(chunks) * wSize, 0.0f);
    parallel_chunks(g.n * g.ho, chunks, [&](int64_t r0, int64_t r1, int64_t i) { filterRowsAny(partials.data() + i * int64_t(wSize), x, dy, r0, r1, g); });
    for (size_t j = 0; j < wSize; j++) {
      float s = 0.0f;
      for (int64_t i = 0; i < chunks; i++) s += partials[size_t(i) * wSize + j];
      dW[j] = s;
    }
  } else {
    throw Error("narrowConv: mode must be 0 (forward) or 2 (filter gradient), got " + std::to_string(mode));
  }
}

}  // namespace clue
