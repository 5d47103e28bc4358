// Depthwise 2-D convolution with channel multiplier 1 in NHWC (forward, gradient w.r.t. the
// input, gradient w.r.t. the filter), written by hand; lib/engine/native/kernels/conv.ts
// (handWritten) uses it where it measured faster than oneDNN's grouped convolution. Every output
// pixel is a sum over filter taps of input pixel × filter row, vectorised over channels with
// accumulators held in registers; rows of the output are spread over the pool. Any filter size,
// stride, dilation, padding and channel count (16·k channels run fully vectorised).
#include <algorithm>
#include <vector>

#include "conv_common.h"
#include "gelu.h"
#include "kernels.h"
#include "parallel.h"

namespace clue {

namespace {

using namespace conv_common;

/** One filter tap of an output pixel: the source pixel's and the filter row's offsets (floats). */
struct Tap {
  int64_t src, filter;
};

/**
 * For each of `outCount` positions along one axis, the filter taps (k, source position) that
 * reach it. Gather (forward): source = o·stride − pad + k·dilation. Transposed (data gradient):
 * the output positions whose window covers input position o. Also the run [lo, hi) of positions
 * with every tap whose sources advance by `step` per position: one tap list serves that run.
 */
struct AxisTaps {
  std::vector<int32_t> start;  // outCount + 1 offsets into k / src
  std::vector<int32_t> k, src;
  int64_t lo = 0, hi = 0, step = 0;
  AxisTaps(int64_t outCount, int64_t srcCount, int64_t f, int64_t stride, int64_t dil, int64_t pad, bool transposed) {
    start.push_back(0);
    for (int64_t o = 0; o < outCount; o++) {
      for (int64_t kk = 0; kk < f; kk++) {
        int64_t s;
        if (!transposed) {
          s = o * stride - pad + kk * dil;
        } else {
          int64_t t = o + pad - kk * dil;  // = s·stride for the output position s that reads input o
          if (t < 0 || t % stride != 0) continue;
          s = t / stride;
        }
        if (s < 0 || s >= srcCount) continue;
        k.push_back(int32_t(kk));
        src.push_back(int32_t(s));
      }
      start.push_back(int32_t(k.size()));
    }
    auto full = [&](int64_t o) { return start[o + 1] - start[o] == f; };
    while (lo < outCount && !full(lo)) lo++;
    hi = lo;
    if (lo == outCount) return;
    step = lo + 1 < outCount && full(lo + 1) ? src[start[lo + 1]] - src[start[lo]] : 0;
    for (hi = lo + 1; hi < outCount && full(hi); hi++) {
      bool linear = true;
      for (int64_t kk = 0; kk < f; kk++) linear = linear && src[start[hi] + kk] == src[start[lo] + kk] + (hi - lo) * step;
      if (!linear) break;
    }
  }
};

/**
 * NP consecutive output pixels (their sources srcStep floats apart), channels [c, c + 16·NV):
 * out[p·C + c'] = Σ_t src[p·srcStep + taps[t].src + c'] · filter[taps[t].filter + c']. The
 * accumulators stay in registers; each filter vector loaded serves NP pixels.
 */
template <int NP, int NV>
inline __attribute__((always_inline)) void block(float* __restrict out, const float* __restrict src, int64_t srcStep,
                                                  const float* __restrict filter, const Tap* taps, int nt, int64_t C, int64_t c) {
  vf acc[NP][NV];
  for (int p = 0; p < NP; p++)
    for (int v = 0; v < NV; v++) acc[p][v] = vf{};
  for (int t = 0; t < nt; t++) {
    const float* s = src + taps[t].src + c;
    const float* w = filter + taps[t].filter + c;
    vf wv[NV];
    for (int v = 0; v < NV; v++) wv[v] = load(w + 16 * v);
    for (int p = 0; p < NP; p++)
      for (int v = 0; v < NV; v++) acc[p][v] += load(s + p * srcStep + 16 * v) * wv[v];
  }
  for (int p = 0; p < NP; p++)
    for (int v = 0; v < NV; v++) store(out + p * C + c + 16 * v, acc[p][v]);
}

/** `count` consecutive output pixels sharing one tap list, their sources srcStep floats apart. */
inline __attribute__((always_inline)) void span(float* __restrict out, const float* __restrict src, int64_t srcStep, const float* __restrict filter,
                                                 const Tap* taps, int nt, int64_t C, int64_t count) {
  int64_t c = 0;
  for (; c + 64 <= C; c += 64) {
    int64_t p = 0;
    for (; p + 4 <= count; p += 4) block<4, 4>(out + p * C, src + p * srcStep, srcStep, filter, taps, nt, C, c);
    for (; p < count; p++) block<1, 4>(out + p * C, src + p * srcStep, srcStep, filter, taps, nt, C, c);
  }
  for (; c + 16 <= C; c += 16) {
    int64_t p = 0;
    for (; p + 8 <= count; p += 8) block<8, 1>(out + p * C, src + p * srcStep, srcStep, filter, taps, nt, C, c);
    for (; p < count; p++) block<1, 1>(out + p * C, src + p * srcStep, srcStep, filter, taps, nt, C, c);
  }
  for (; c < C; c++) {
    for (int64_t p = 0; p < count; p++) {
      float a = 0.0f;
      for (int t = 0; t < nt; t++) a += src[p * srcStep + taps[t].src + c] * filter[taps[t].filter + c];
      out[p * C + c] = a;
    }
  }
}

/**
 * NP consecutive output pixels, channels [c, c + 16), for filters three pixels wide read at
 * unit stride: row group g contributes Σ_q x_g[(p + q)·C] · f_g[q] (x_g at the leftmost source
 * pixel of output pixel 0, f_g the filter rows in source order). Each input vector loaded
 * serves up to three pixels, each filter vector NP pixels. bias (or null) is added to the sums as they are stored.
 */
template <int NP>
inline __attribute__((always_inline)) void block3(float* __restrict out, const float* const* xs, const float* const* fs, int groups,
                                                   const float* bias, int64_t C, int64_t c) {
  vf acc[NP];
#pragma GCC unroll 16
  for (int p = 0; p < NP; p++) acc[p] = vf{};
  for (int g = 0; g < groups; g++) {
    vf f[3] = {load(fs[3 * g] + c), load(fs[3 * g + 1] + c), load(fs[3 * g + 2] + c)};
    const float* x = xs[g] + c;
#pragma GCC unroll 32
    for (int j = 0; j < NP + 2; j++) {
      // volatile: one load into a register; the compiler would otherwise fold it into all three FMAs
      vf xv = *reinterpret_cast<const volatile vf*>(x + j * C);
#pragma GCC unroll 16
      for (int p = 0; p < NP; p++) {
        if (j - p >= 0 && j - p <= 2) acc[p] += xv * f[j - p];
      }
    }
  }
  if (bias) {
    vf b = load(bias + c);
#pragma GCC unroll 16
    for (int p = 0; p < NP; p++) acc[p] += b;
  }
#pragma GCC unroll 16
  for (int p = 0; p < NP; p++) store(out + p * C + c, acc[p]);
}

/**
 * The interior of an output row when every filter row is three taps at consecutive source
 * pixels (3-wide filter, dilation 1, one source pixel per output pixel): `taps` as groups of
 * three, plus bias (or null) added as each block is stored. Returns false (nothing done) when
 * the taps do not have that form.
 */
inline __attribute__((always_inline)) bool span3(float* __restrict out, const float* src, const float* filter, const Tap* taps, int nt,
                                                  const float* bias, int64_t C, int64_t count) {
  if (nt % 3 != 0 || nt > 3 * 16 || C % 16 != 0) return false;
  const float* xs[16];
  const float* fs[48];
  int groups = nt / 3;
  for (int g = 0; g < groups; g++) {
    const Tap* t = taps + 3 * g;
    int order[3] = {0, 1, 2};  // by source offset
    std::sort(order, order + 3, [&](int a, int b) { return t[a].src < t[b].src; });
    if (t[order[1]].src != t[order[0]].src + C || t[order[2]].src != t[order[0]].src + 2 * C) return false;
    xs[g] = src + t[order[0]].src;
    for (int q = 0; q < 3; q++) fs[3 * g + q] = filter + t[order[q]].filter;
  }
  // pixels outer, channels inner: memory is read in order, as the prefetchers expect
  const float* xp[16];
  int64_t p = 0;
  for (; p + 8 <= count; p += 8) {
    for (int g = 0; g < groups; g++) xp[g] = xs[g] + p * C;
    for (int64_t c = 0; c < C; c += 16) block3<8>(out + p * C, xp, fs, groups, bias, C, c);
  }
  if (p + 4 <= count) {
    for (int g = 0; g < groups; g++) xp[g] = xs[g] + p * C;
    for (int64_t c = 0; c < C; c += 16) block3<4>(out + p * C, xp, fs, groups, bias, C, c);
    p += 4;
  }
  if (p + 2 <= count) {
    for (int g = 0; g < groups; g++) xp[g] = xs[g] + p * C;
    for (int64_t c = 0; c < C; c += 16) block3<2>(out + p * C, xp, fs, groups, bias, C, c);
    p += 2;
  }
  if (p < count) {
    for (int g = 0; g < groups; g++) xp[g] = xs[g] + p * C;
    for (int64_t c = 0; c < C; c += 16) block3<1>(out + p * C, xp, fs, groups, bias, C, c);
  }
  return true;
}

/**
 * Rows [r0, r1) of out (rows = image × outH, each outW·C floats), each pixel the sum over its
 * row taps × column taps of source pixel × filter row (source images srcH × srcW × C), plus
 * bias[c] when there is one (added to each row while it is in L1: the sum, then the bias, as a
 * separate add would round).
 */
CLUE_HOT void gatherRows(float* out, const float* src, const float* filter, const float* bias, int64_t r0, int64_t r1, int64_t outH,
                         int64_t outW, int64_t srcH, int64_t srcW, int64_t C, int64_t fh, int64_t fw, const AxisTaps& rows,
                         const AxisTaps& cols) {

  std::vector<Tap> taps(size_t(fh * fw)), inner(size_t(fh * fw));
  int64_t srcImage = srcH * srcW * C;
  for (int64_t r = r0; r < r1; r++) {
    int64_t b = r / outH, oy = r % outH;
    const float* img = src + b * srcImage;
    float* orow = out + r * outW * C;
    auto tapsAt = [&](int64_t ox, Tap* list) {
      int nt = 0;
      for (int32_t i = rows.start[oy]; i < rows.start[oy + 1]; i++) {
        int64_t rowOff = int64_t(rows.src[i]) * srcW, kOff = int64_t(rows.k[i]) * fw;
        for (int32_t j = cols.start[ox]; j < cols.start[ox + 1]; j++) list[nt++] = Tap{(rowOff + cols.src[j]) * C, (kOff + cols.k[j]) * C};
      }
      return nt;
    };
    int64_t biasedLo = 0, biasedHi = 0;  // pixels span3 added the bias to
    for (int64_t ox = 0; ox < outW; ox++) {
      if (ox == cols.lo && cols.hi > cols.lo) {
        // the interior: one tap list, shifted by step pixels per output pixel
        int nt = tapsAt(ox, inner.data());
        if (cols.step == 1 && span3(orow + ox * C, img, filter, inner.data(), nt, bias, C, cols.hi - cols.lo)) {
          biasedLo = cols.lo;
          biasedHi = cols.hi;
        } else {
          span(orow + ox * C, img, cols.step * C, filter, inner.data(), nt, C, cols.hi - cols.lo);
        }
        ox = cols.hi - 1;
        continue;
      }
      int nt = tapsAt(ox, taps.data());
      span(orow + ox * C, img, 0, filter, taps.data(), nt, C, 1);
    }
    if (bias) {
      for (int64_t ox = 0; ox < outW; ox++) {
        if (ox == biasedLo && biasedHi > biasedLo) ox = biasedHi;
        if (ox >= outW) break;
        float* px = orow + ox * C;
#pragma omp simd
        for (int64_t c = 0; c < C; c++) px[c] += bias[c];
      }
    }
  }
}

/**
 * acc[kx·C + c'] += Σ_j xs[j·xStep + kx·kxStep + c'] · gs[j·C + c'] for kx < 3, channels
 * [c, c + 16·NV): the three taps of a filter row share each output-gradient load; NU columns
 * in flight hide the add latency.
 */
template <int NV, int NU>
inline __attribute__((always_inline)) void rowTaps3(float* __restrict acc, const float* __restrict xs, int64_t xStep, int64_t kxStep,
                                                     const float* __restrict gs, int64_t count, int64_t C, int64_t c) {
  vf a[NU][3][NV];
  for (int u = 0; u < NU; u++)
    for (int q = 0; q < 3; q++)
      for (int v = 0; v < NV; v++) a[u][q][v] = vf{};
  int64_t j = 0;
  for (; j + NU <= count; j += NU) {
    for (int u = 0; u < NU; u++) {
      const float* xp = xs + (j + u) * xStep + c;
      const float* gp = gs + (j + u) * C + c;
      for (int v = 0; v < NV; v++) {
        vf g = load(gp + 16 * v);
        for (int q = 0; q < 3; q++) a[u][q][v] += load(xp + q * kxStep + 16 * v) * g;
      }
    }
  }
  for (; j < count; j++) {
    const float* xp = xs + j * xStep + c;
    const float* gp = gs + j * C + c;
    for (int v = 0; v < NV; v++) {
      vf g = load(gp + 16 * v);
      for (int q = 0; q < 3; q++) a[0][q][v] += load(xp + q * kxStep + 16 * v) * g;
    }
  }
  for (int q = 0; q < 3; q++)
    for (int v = 0; v < NV; v++) {
      vf s = a[0][q][v];
      for (int u = 1; u < NU; u++) s += a[u][q][v];
      float* dst = acc + q * C + c + 16 * v;
      store(dst, load(dst) + s);
    }
}

/**
 * Input column m of rowTaps3Row (x at xp, inside the image or not): its vector feeds tap 0 of
 * output column m (t0), tap 1 of column m − 1 (t1) and tap 2 of column m − 2 (t2); g1 and g2
 * hold those columns' gradients and shift on (g is column m's, when there is one).
 */
template <int NV>
inline __attribute__((always_inline)) void tap3Column(vf (&a)[3][NV], vf (&g1)[NV], vf (&g2)[NV], const float* __restrict xp,
                                                       const float* __restrict gp, bool inside, bool t0, bool t1, bool t2) {
  for (int v = 0; v < NV; v++) {
    vf g = t0 ? load(gp + 16 * v) : vf{};
    if (inside) {
      vf xv = load(xp + 16 * v);
      if (t0) a[0][v] += xv * g;
      if (t1) a[1][v] += xv * g1[v];
      if (t2) a[2][v] += xv * g2[v];
    }
    g2[v] = g1[v];
    g1[v] = g;
  }
}

/**
 * acc[q·C + c'] += Σ_j x[j − pl + q] · g[j] over a whole row of wo output columns, for the three
 * taps q of a filter row at unit stride and dilation, channels [c, c + 16·NV): input column m
 * serves tap q of output column m − q, so each input vector is loaded once for its three taps,
 * and columns whose tap falls outside the image (0 <= m − pl < w fails) are skipped in the same
 * loop. Each accumulator adds its terms column by column.
 */
template <int NV>
inline __attribute__((always_inline)) void rowTaps3Row(float* __restrict acc, const float* __restrict xRow, const float* __restrict gRow,
                                                        int64_t wo, int64_t w, int64_t pl, int64_t C, int64_t c) {
  vf a[3][NV], g1[NV], g2[NV];
  for (int v = 0; v < NV; v++) {
    a[0][v] = a[1][v] = a[2][v] = vf{};
    g1[v] = g2[v] = vf{};
  }
  auto column = [&](int64_t m, bool inside, bool t0, bool t1, bool t2) {
    tap3Column<NV>(a, g1, g2, xRow + (m - pl) * C + c, gRow + m * C + c, inside, t0, t1, t2);
  };
  auto edge = [&](int64_t m) { column(m, m >= pl && m - pl < w, m < wo, m >= 1 && m <= wo, m >= 2); };
  // [mLo, mHi): all three taps present and inside the image
  int64_t mLo = std::max<int64_t>(2, pl), mHi = std::min<int64_t>(wo, w + pl), m = 0;
  for (; m < std::min<int64_t>(mLo, wo + 2); m++) edge(m);
  for (; m < mHi; m++) column(m, true, true, true, true);
  for (; m < wo + 2; m++) edge(m);
  for (int q = 0; q < 3; q++)
    for (int v = 0; v < NV; v++) {
      float* dst = acc + q * C + c + 16 * v;
      store(dst, load(dst) + a[q][v]);
    }
}

/** acc[c] += Σ_j xs[j·xStep + c] · gs[j·C + c] over channels [c0, C): one tap, `count` columns. */
inline __attribute__((always_inline)) void rowTap(float* __restrict acc, const float* __restrict xs, int64_t xStep, const float* __restrict gs,
                                                   int64_t count, int64_t C, int64_t c0) {
  int64_t c = c0;
  for (; c + 64 <= C; c += 64) {
    vf a0 = {}, a1 = {}, a2 = {}, a3 = {};
    for (int64_t j = 0; j < count; j++) {
      const float* xp = xs + j * xStep + c;
      const float* gp = gs + j * C + c;
      a0 += load(xp) * load(gp);
      a1 += load(xp + 16) * load(gp + 16);
      a2 += load(xp + 32) * load(gp + 32);
      a3 += load(xp + 48) * load(gp + 48);
    }
    store(acc + c, load(acc + c) + a0);
    store(acc + c + 16, load(acc + c + 16) + a1);
    store(acc + c + 32, load(acc + c + 32) + a2);
    store(acc + c + 48, load(acc + c + 48) + a3);
  }
  for (; c + 16 <= C; c += 16) {
    vf a0 = {}, a1 = {};
    int64_t j = 0;
    for (; j + 2 <= count; j += 2) {
      a0 += load(xs + j * xStep + c) * load(gs + j * C + c);
      a1 += load(xs + (j + 1) * xStep + c) * load(gs + (j + 1) * C + c);
    }
    if (j < count) a0 += load(xs + j * xStep + c) * load(gs + j * C + c);
    store(acc + c, load(acc + c) + (a0 + a1));
  }
  for (; c < C; c++) {
    float a = 0.0f;
    for (int64_t j = 0; j < count; j++) a += xs[j * xStep + c] * gs[j * C + c];
    acc[c] += a;
  }
}

/**
 * Adds to part (fh × fw × C) the filter gradient of output rows [r0, r1): for each tap, Σ over
 * the row's pixels of input pixel × output gradient, accumulated in registers along the row.
 * Columns [oxLo[kx], oxHi[kx]) are those where tap kx lands inside the input; [inLo, inHi) is
 * where all of them do.
 */
CLUE_HOT void filterGradRows(float* __restrict part, const float* __restrict x, const float* __restrict dy, int64_t r0, int64_t r1,
                             int64_t ho, int64_t wo, int64_t h, int64_t w, int64_t C, int64_t fw, int64_t sw, int64_t dw, int64_t pl,
                             const AxisTaps& rows, const int64_t* oxLo, const int64_t* oxHi, int64_t inLo, int64_t inHi) {
  int64_t xStep = sw * C;
  // 3-wide filters at unit stride and dilation: channels [0, cRow) a whole row at a time
  int64_t cRow = fw == 3 && sw == 1 && dw == 1 ? C / 64 * 64 : 0;
  for (int64_t r = r0; r < r1; r++) {
    int64_t b = r / ho, oy = r % ho;
    const float* dyRow = dy + r * wo * C;
    for (int32_t i = rows.start[oy]; i < rows.start[oy + 1]; i++) {
      const float* xRow = x + (b * h + rows.src[i]) * w * C;
      float* acc = part + int64_t(rows.k[i]) * fw * C;
      // input column of output column ox for tap kx: ox·sw − pl + kx·dw
      auto xAt = [&](int64_t ox, int64_t kx) { return xRow + (ox * sw - pl + kx * dw) * C; };
      for (int64_t c = 0; c < cRow; c += 64) rowTaps3Row<4>(acc, xRow, dyRow, wo, w, pl, C, c);
      if (cRow == C) continue;
      bool fused = fw == 3 && inLo < inHi;
      for (int64_t kx = 0; kx < fw; kx++) {
        int64_t lo = oxLo[kx], hi = oxHi[kx];
        if (!fused) {
          if (lo < hi) rowTap(acc + kx * C, xAt(lo, kx), xStep, dyRow + lo * C, hi - lo, C, cRow);
          continue;
        }
        // the edges here, the interior [inLo, inHi) below with the three taps together
        if (lo < inLo) rowTap(acc + kx * C, xAt(lo, kx), xStep, dyRow + lo * C, inLo - lo, C, cRow);
        if (inHi < hi) rowTap(acc + kx * C, xAt(inHi, kx), xStep, dyRow + inHi * C, hi - inHi, C, cRow);
      }
      if (fused) {
        const float* xs = xAt(inLo, 0);
        const float* gs = dyRow + inLo * C;
        int64_t count = inHi - inLo, c = cRow;
        for (; c + 64 <= C; c += 64) rowTaps3<4, 1>(acc, xs, xStep, dw * C, gs, count, C, c);
        for (; c + 16 <= C; c += 16) rowTaps3<1, 4>(acc, xs, xStep, dw * C, gs, count, C, c);
        if (c < C) {
          for (int64_t kx = 0; kx < 3; kx++) {
            for (int64_t j = 0; j < count; j++) {
              const float* xp = xs + j * xStep + kx * dw * C;
              const float* gp = gs + j * C;
              for (int64_t cc = c; cc < C; cc++) acc[kx * C + cc] += xp[cc] * gp[cc];
            }
          }
        }
      }
    }
  }
}

/** Output rows per chunk for about 64 K multiply-adds each. */
int64_t rowGrain(int64_t rowWork) { return std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(rowWork, 1)); }

/**
 * What the filter gradient needs besides the tensors: the row taps, and for each filter column
 * kx the output columns [oxLo, oxHi) whose tap lands inside the input (0 <= ox·sw − pl + kx·dw <
 * w), [inLo, inHi) where all of them do; and the fixed cut of the n·ho output rows into chunks
 * whose partial sums are added in chunk order (deterministic for any number of threads).
 */
struct FilterGradPlan {
  AxisTaps rows;
  std::vector<int64_t> oxLo, oxHi;
  int64_t inLo = 0, inHi, total, chunks;
  FilterGradPlan(int64_t n, int64_t h, int64_t w, int64_t C, int64_t ho, int64_t wo, int64_t fh, int64_t fw, int64_t sh, int64_t sw,
                 int64_t dh, int64_t dw, int64_t pt, int64_t pl)
      : rows(ho, h, fh, sh, dh, pt, false), oxLo(size_t(fw)), oxHi(size_t(fw)), inHi(wo), total(n * ho) {
    for (int64_t kx = 0; kx < fw; kx++) {
      int64_t lo = 0, hi = wo;
      while (lo < wo && lo * sw - pl + kx * dw < 0) lo++;
      while (hi > lo && (hi - 1) * sw - pl + kx * dw >= w) hi--;
      oxLo[size_t(kx)] = lo;
      oxHi[size_t(kx)] = hi;
      inLo = std::max(inLo, lo);
      inHi = std::min(inHi, hi);
    }
    chunks = std::min(std::max<int64_t>(1, std::min<int64_t>(8, total / rowGrain(wo * C * fh * fw))), std::max<int64_t>(total, 1));
  }
};

/** out[j] = Σ_i partials[i·size + j] over i < chunks, in chunk order. */
void sumPartials(float* out, const float* partials, int64_t chunks, int64_t stride, int64_t size) {
  for (int64_t j = 0; j < size; j++) {
    float s = 0.0f;
    for (int64_t i = 0; i < chunks; i++) s += partials[i * stride + j];
    out[j] = s;
  }
}

/** acc[c] += Σ_p dy[p·C + c] over `pixels` pixels, in pixel order. */
CLUE_HOT void channelSums(float* __restrict acc, const float* __restrict dy, int64_t pixels, int64_t C) {
  for (int64_t p = 0; p < pixels; p++) {
    const float* g = dy + p * C;
#pragma omp simd
    for (int64_t c = 0; c < C; c++) acc[c] += g[c];
  }
}

/** conv()'s parameter block (argument `index`) for a depthwise convolution, checked. */
struct Geometry {
  int64_t n, h, w, C, ho, wo, fh, fw, sh, sw, dh, dw, pt, pl;
  Geometry(const Args& args, size_t index, const char* name) {
    std::vector<int64_t> p = args.ints(index);
    if (p.size() != P_COUNT) throw Error(std::string(name) + ": expected 18 parameters");
    n = p[P_N], h = p[P_H], w = p[P_W], C = p[P_CI], ho = p[P_HO], wo = p[P_WO], fh = p[P_FH], fw = p[P_FW];
    sh = p[P_SH], sw = p[P_SW], dh = p[P_DH], dw = p[P_DW], pt = p[P_PT], pl = p[P_PL];
    if (p[P_CO] != C || p[P_G] != C) throw Error(std::string(name) + ": only channel multiplier 1 (use conv for others)");
    if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || fh < 1 || fw < 1) {
      throw Error(std::string(name) + ": strides, dilations and filter sizes must be >= 1");
    }
  }
};

}  // namespace

/**
 * depthwise(mode, out, in1, in2, params, bias|null): conv()'s modes and parameters (conv.cc) for
 * a depthwise convolution with channel multiplier 1 (groups = ci = co). Mode 0: out = y from
 * (x, filter), plus the bias if given; 1: out = dx from (dy, filter); 2: out = dFilter from (x, dy), summed over chunks
 * of rows in a fixed order (the same result for any number of threads).
 */
void depthwise(const Args& args) {
  int mode = int(args.integer(0));
  const Geometry g(args, 4, "depthwise");
  auto [n, h, w, C, ho, wo, fh, fw, sh, sw, dh, dw, pt, pl] = g;
  int64_t xImage = h * w * C, yImage = ho * wo * C;
  size_t wSize = size_t(fh * fw * C);
  if (mode == kForward) {
    float* y = args.f32(1, size_t(n * yImage));
    const float* x = args.f32(2, size_t(n * xImage));
    const float* filter = args.f32(3, wSize);
    const float* bias = args.count() > 5 && !args.isNull(5) ? args.f32(5, size_t(C)) : nullptr;
    AxisTaps rows(ho, h, fh, sh, dh, pt, false), cols(wo, w, fw, sw, dw, pl, false);
    parallel_for(n * ho, rowGrain(wo * C * fh * fw), [&](int64_t r0, int64_t r1) {
      gatherRows(y, x, filter, bias, r0, r1, ho, wo, h, w, C, fh, fw, rows, cols);
    });
  } else if (mode == kBackwardData) {
    float* dx = args.f32(1, size_t(n * xImage));
    const float* dy = args.f32(2, size_t(n * yImage));
    const float* filter = args.f32(3, wSize);
    AxisTaps rows(h, ho, fh, sh, dh, pt, true), cols(w, wo, fw, sw, dw, pl, true);
    parallel_for(n * h, rowGrain(w * C * fh * fw / std::max<int64_t>(sh * sw, 1)), [&](int64_t r0, int64_t r1) {
      gatherRows(dx, dy, filter, nullptr, r0, r1, h, w, ho, wo, C, fh, fw, rows, cols);
    });
  } else if (mode == kBackwardWeights) {
    float* dW = args.f32(1, wSize);
    const float* x = args.f32(2, size_t(n * xImage));
    const float* dy = args.f32(3, size_t(n * yImage));
    FilterGradPlan plan(n, h, w, C, ho, wo, fh, fw, sh, sw, dh, dw, pt, pl);
    std::vector<float> partials(size_t(plan.chunks) * wSize, 0.0f);
    parallel_chunks(plan.total, plan.chunks, [&](int64_t r0, int64_t r1, int64_t i) {
      filterGradRows(partials.data() + i * int64_t(wSize), x, dy, r0, r1, ho, wo, h, w, C, fw, sw, dw, pl, plan.rows, plan.oxLo.data(),
                     plan.oxHi.data(), plan.inLo, plan.inHi);
    });
    // chunk partials summed in chunk order: deterministic whichever thread ran which
    sumPartials(dW, partials.data(), plan.chunks, int64_t(wSize), int64_t(wSize));
  } else {
    throw Error("depthwise: unknown mode " + std::to_string(mode));
  }
}

/**
 * depthwiseGrad(dx, dFilter, dBias|null, dy, x, filter, params): depthwise()'s modes 1 and 2 and
 * the bias gradient Σ_{n,ho,wo} dy in one sweep over dy. Each chunk of the filter gradient's
 * fixed cut of output rows also writes the input rows ⌊r·h/ho⌋ of its output rows r, a few
 * output rows at a time, so each dy row is read from memory once and reused from cache. dx
 * equals mode 1's, dFilter mode 2's (same chunks, same order of summation); dBias is summed per
 * chunk in pixel order, then over chunks in chunk order.
 */
void depthwiseGrad(const Args& args) {
  const Geometry g(args, 6, "depthwiseGrad");
  auto [n, h, w, C, ho, wo, fh, fw, sh, sw, dh, dw, pt, pl] = g;
  int64_t xImage = h * w * C, yImage = ho * wo * C, wSize = fh * fw * C;
  float* dx = args.f32(0, size_t(n * xImage));
  float* dW = args.f32(1, size_t(wSize));
  float* dB = args.isNull(2) ? nullptr : args.f32(2, size_t(C));
  const float* dy = args.f32(3, size_t(n * yImage));
  const float* x = args.f32(4, size_t(n * xImage));
  const float* filter = args.f32(5, size_t(wSize));
  AxisTaps dxRows(h, ho, fh, sh, dh, pt, true), dxCols(w, wo, fw, sw, dw, pl, true);
  FilterGradPlan plan(n, h, w, C, ho, wo, fh, fw, sh, sw, dh, dw, pt, pl);
  if (plan.total == 0) {
    std::fill(dx, dx + n * xImage, 0.0f);
    std::fill(dW, dW + wSize, 0.0f);
    if (dB) std::fill(dB, dB + C, 0.0f);
    return;
  }
  int64_t stride = wSize + C;  // a chunk's partial dFilter, then its partial dBias
  std::vector<float> partials(size_t(plan.chunks * stride), 0.0f);
  // output rows per step: a few rows of dy and x stay in L2 between the two gradients
  constexpr int64_t kStep = 4;
  parallel_chunks(plan.total, plan.chunks, [&](int64_t r0, int64_t r1, int64_t i) {
    float* part = partials.data() + i * stride;
    for (int64_t r = r0; r < r1; r += kStep) {
      int64_t e = std::min(r + kStep, r1);
      // the input rows of output rows [r, e): ⌊r·h/ho⌋ (flat over the batch, as n·h / n·ho = h / ho)
      int64_t i0 = r * h / ho, i1 = e * h / ho;
      if (i0 < i1) gatherRows(dx, dy, filter, nullptr, i0, i1, h, w, ho, wo, C, fh, fw, dxRows, dxCols);
      filterGradRows(part, x, dy, r, e, ho, wo, h, w, C, fw, sw, dw, pl, plan.rows, plan.oxLo.data(), plan.oxHi.data(), plan.inLo, plan.inHi);
      if (dB) channelSums(part + wSize, dy + r * wo * C, (e - r) * wo, C);
    }
  });
  sumPartials(dW, partials.data(), plan.chunks, stride, wSize);
  if (dB) sumPartials(dB, partials.data() + wSize, plan.chunks, stride, C);
}

/**
 * depthwiseGelu(y, slope|null, x, filter, bias, params): y = gelu(z), z = depthwise(x, filter) +
 * bias as mode 0 computes it, and where slope is given slope = gelu'(z), which is all the
 * backward pass (depthwiseGeluGrad) needs of z. Each chunk of output rows computes z a few rows
 * at a time (into a scratch buffer, or y's rows) and applies GELU while they are in cache,
 * prefetching the input rows the next few need meanwhile: one pass over memory instead of the
 * convolution's and then GELU's, and memory busy while GELU computes (one thread, [64,32,32,64]:
 * 4.5 ms against 4.1 + 1.7 for depthwise() then gelu(), 6.5 without the prefetching). The same
 * values as depthwise() followed by gelu().
 */
void depthwiseGelu(const Args& args) {
  const Geometry g(args, 5, "depthwiseGelu");
  auto [n, h, w, C, ho, wo, fh, fw, sh, sw, dh, dw, pt, pl] = g;
  int64_t rowFloats = wo * C, ySize = n * ho * rowFloats;
  float* y = args.f32(0, size_t(ySize));
  float* slope = args.isNull(1) ? nullptr : args.f32(1, size_t(ySize));
  const float* x = args.f32(2, size_t(n * h * w * C));
  const float* filter = args.f32(3, size_t(fh * fw * C));
  const float* bias = args.f32(4, size_t(C));
  AxisTaps rows(ho, h, fh, sh, dh, pt, false), cols(wo, w, fw, sw, dw, pl, false);
  // rows per step: about 32 KB of z, which GELU reads back from L1/L2
  int64_t step = std::max<int64_t>(1, (int64_t(8) << 10) / std::max<int64_t>(rowFloats, 1));
  // the flat input row (image × h) of output row q's bottom filter tap, within the image
  auto bottomSrcRow = [&](int64_t q) { return q / ho * h + std::clamp<int64_t>((q % ho) * sh - pt + (fh - 1) * dh, 0, h - 1); };
  parallel_for(n * ho, rowGrain(wo * C * fh * fw), [&](int64_t r0, int64_t r1) {
    // with a slope, z goes to a scratch buffer and slope is streamed out (not read in first);
    // without, z is y's rows and GELU runs in place
    std::vector<float> scratch(slope ? size_t(std::min(step, r1 - r0) * rowFloats) : 0);
    for (int64_t r = r0; r < r1; r += step) {
      int64_t e = std::min(r + step, r1), count = (e - r) * rowFloats;
      float* zRows = slope ? scratch.data() : y + r * rowFloats;
      // gatherRows writes flat row q at base + q·rowFloats
      float* base = reinterpret_cast<float*>(reinterpret_cast<uintptr_t>(zRows) - uintptr_t(r * rowFloats) * sizeof(float));
      gatherRows(base, x, filter, bias, r, e, ho, wo, h, w, C, fh, fw, rows, cols);
      // the input rows the next step reads first (past the bottom rows of this step's taps)
      int64_t next = std::min(e + step, r1), p0 = bottomSrcRow(e - 1) + 1, p1 = next > e ? bottomSrcRow(next - 1) + 1 : p0;
      geluRowsAhead(y + r * rowFloats, slope ? slope + r * rowFloats : nullptr, zRows, count, x + p0 * w * C, std::max<int64_t>(0, p1 - p0) * w * C);
    }
  });
}

namespace {

/** Prefetches rows [a, b) of a map of rows `rowFloats` long (nothing when b <= a), for writing if `write`. */
void prefetchRows(const float* map, int64_t rowFloats, int64_t a, int64_t b, bool write) {
  const char* p = reinterpret_cast<const char*>(map + a * rowFloats);
  const char* end = reinterpret_cast<const char*>(map + b * rowFloats);
  if (write) {
    for (; p < end; p += 64) __builtin_prefetch(p, 1);
  } else {
    for (; p < end; p += 64) __builtin_prefetch(p, 0);
  }
}

/** dz[i] = dy[i]·slope[i]: the product geluGrad forms, with the slope the forward pass saved. */
CLUE_HOT void slopeRows(float* __restrict dz, const float* __restrict dy, const float* __restrict slope, int64_t count) {
#pragma omp simd
  for (int64_t i = 0; i < count; i++) dz[i] = dy[i] * slope[i];
}

/**
 * slopeRows over `pixels` pixels of C channels that also adds each pixel's dz to acc[c], in
 * pixel order: the bias gradient as channelSums would sum the same rows, without reading dz again.
 */
CLUE_HOT void slopeRowsSum(float* __restrict dz, const float* __restrict dy, const float* __restrict slope, float* __restrict acc, int64_t pixels,
                           int64_t C) {
  for (int64_t p = 0; p < pixels; p++) {
    float* d = dz + p * C;
    const float* g = dy + p * C;
    const float* s = slope + p * C;
#pragma omp simd
    for (int64_t c = 0; c < C; c++) {
      float v = g[c] * s[c];
      d[c] = v;
      acc[c] += v;
    }
  }
}

/**
 * dz = dy·gelu'(z) for a moving range [lo, hi) of flat output rows (image × ho), formed as the
 * range advances and held in a small buffer instead of a map the size of dy. base() is where
 * flat row 0 would be, so gatherRows and filterGradRows, which index a whole map by flat row,
 * read the held rows where they expect them.
 */
class DzWindow {
 public:
  explicit DzWindow(int64_t rowFloats) : buf_(scratch()), row_(rowFloats) {}

  /**
   * Holds rows [a, b) (a never below an earlier a except after a reset), computing with
   * fill(out, p, q) those not held. The held rows slide forward through a buffer about four
   * windows long and are moved back to its start only when they reach its end.
   */
  template <class Fill>
  void cover(int64_t a, int64_t b, Fill&& fill) {
    if (a < lo_ || a >= hi_) lo_ = hi_ = a, at_ = 0;  // nothing reusable: start over at a
    at_ += a - lo_;
    lo_ = a;
    if (b <= hi_) return;
    int64_t need = b - lo_;
    if (at_ + need > cap_) {
      if (cap_ < need) {
        cap_ = 4 * need;
        if (int64_t(buf_.size()) < cap_ * row_) buf_.resize(size_t(cap_ * row_));
      }
      std::memmove(buf_.data(), buf_.data() + at_ * row_, size_t((hi_ - lo_) * row_) * sizeof(float));
      at_ = 0;
    }
    fill(base(), hi_, b);
    hi_ = b;
  }

  /** The address flat row 0 would have (only rows [lo, hi) are read through it). */
  float* base() { return reinterpret_cast<float*>(reinterpret_cast<uintptr_t>(buf_.data() + at_ * row_) - uintptr_t(lo_ * row_) * sizeof(float)); }

 private:
  // one buffer per thread, kept between calls: a fresh one each chunk would be mapped and
  // faulted in page by page once over malloc's mmap threshold
  static std::vector<float>& scratch() {
    thread_local std::vector<float> buf;
    return buf;
  }
  std::vector<float>& buf_;
  int64_t lo_ = 0, hi_ = 0, at_ = 0, cap_ = 0, row_;  // rows [lo, hi) at buffer row at_, of cap_
};

}  // namespace

/**
 * depthwiseGeluGrad(dx, dFilter, dBias, dy, x, filter, slope, params): the three gradients of
 * y = gelu(z), z = depthwise(x, filter) + bias, from slope = gelu'(z) as depthwiseGelu() saved it,
 * in one sweep over dy, slope and x, as depthwiseGrad() does for dz = dy·slope: dz is formed a
 * few rows at a time in a cache-sized window and never goes to memory. Same chunks and order of
 * summation as depthwiseGrad() on the dz geluGrad() would give, so the same results bit for bit,
 * for any number of threads. Saving gelu'(z) in the forward pass instead of z moves the
 * derivative's math into the forward pass's GELU, which shares most of it; each step prefetches
 * the rows of dy, slope, x and dx the next one starts on (one thread, [64,32,32,64]: 7.4 ms
 * against 8.9 with gelu'(z) computed here, 8.2 without the prefetching).
 */
void depthwiseGeluGrad(const Args& args) {
  const Geometry g(args, 7, "depthwiseGeluGrad");
  auto [n, h, w, C, ho, wo, fh, fw, sh, sw, dh, dw, pt, pl] = g;
  int64_t xImage = h * w * C, yImage = ho * wo * C, wSize = fh * fw * C, rowFloats = wo * C;
  float* dx = args.f32(0, size_t(n * xImage));
  float* dW = args.f32(1, size_t(wSize));
  float* dB = args.f32(2, size_t(C));
  const float* dy = args.f32(3, size_t(n * yImage));
  const float* x = args.f32(4, size_t(n * xImage));
  const float* filter = args.f32(5, size_t(wSize));
  const float* slope = args.f32(6, size_t(n * yImage));
  AxisTaps dxRows(h, ho, fh, sh, dh, pt, true), dxCols(w, wo, fw, sw, dw, pl, true);
  FilterGradPlan plan(n, h, w, C, ho, wo, fh, fw, sh, sw, dh, dw, pt, pl);
  if (plan.total == 0) {
    std::fill(dx, dx + n * xImage, 0.0f);
    std::fill(dW, dW + wSize, 0.0f);
    std::fill(dB, dB + C, 0.0f);
    return;
  }
  int64_t stride = wSize + C;  // a chunk's partial dFilter, then its partial dBias
  std::vector<float> partials(size_t(plan.chunks * stride), 0.0f);
  constexpr int64_t kStep = 4;  // output rows per step, as in depthwiseGrad
  // dz rows [p, q) into the window
  auto fill = [&](float* dzBase, int64_t p, int64_t q) {
    slopeRows(dzBase + p * rowFloats, dy + p * rowFloats, slope + p * rowFloats, (q - p) * rowFloats);
  };
  // the flat rows [a, b) of a map (images × rows) that flat rows [q0, q1) of another reach through `taps`
  auto reach = [](const AxisTaps& taps, int64_t rowsIn, int64_t rowsOut, int64_t q0, int64_t q1) {
    int64_t a = INT64_MAX, b = INT64_MIN;
    for (int64_t q = q0; q < q1; q++) {
      int64_t img = q / rowsIn, o = q % rowsIn;
      for (int32_t t = taps.start[o]; t < taps.start[o + 1]; t++) {
        a = std::min(a, img * rowsOut + taps.src[t]);
        b = std::max(b, img * rowsOut + taps.src[t] + 1);
      }
    }
    return std::pair<int64_t, int64_t>(a, b);
  };
  int64_t xRowFloats = w * C;
  parallel_chunks(plan.total, plan.chunks, [&](int64_t r0, int64_t r1, int64_t i) {
    float* part = partials.data() + i * stride;
    DzWindow window(rowFloats);
    // dz rows [p, q) into the window, those of this chunk's rows [r0, r1) also added to its bias
    // gradient as they are formed (rows come in order, each once)
    auto fillSum = [&](float* dzBase, int64_t p, int64_t q) {
      int64_t s0 = std::clamp(r0, p, q), s1 = std::clamp(r1, s0, q);
      if (p < s0) fill(dzBase, p, s0);
      if (s0 < s1) slopeRowsSum(dzBase + s0 * rowFloats, dy + s0 * rowFloats, slope + s0 * rowFloats, part + wSize, (s1 - s0) * wo, C);
      if (s1 < q) fill(dzBase, s1, q);
    };
    for (int64_t r = r0; r < r1; r += kStep) {
      int64_t e = std::min(r + kStep, r1);
      int64_t i0 = r * h / ho, i1 = e * h / ho;
      // dz rows needed: [r, e) for dFilter and dBias, and those the input rows [i0, i1) of dx gather from
      auto [a, b] = reach(dxRows, h, ho, i0, i1);
      a = std::min(a, r);
      b = std::max(b, e);
      window.cover(a, b, fillSum);
      if (e < r1) {
        // what the next step reads from memory first, fetched while this one computes: dy and
        // slope rows past the window, x rows past this step's taps, dx rows to write
        int64_t e2 = std::min(e + kStep, r1), j1 = e2 * h / ho;
        int64_t b2 = std::max(e2, reach(dxRows, h, ho, i1, j1).second);
        prefetchRows(dy, rowFloats, b, b2, false);
        prefetchRows(slope, rowFloats, b, b2, false);
        prefetchRows(x, xRowFloats, reach(plan.rows, ho, h, r, e).second, reach(plan.rows, ho, h, e, e2).second, false);
        prefetchRows(dx, xRowFloats, i1, j1, true);
      }
      const float* dz = window.base();
      if (i0 < i1) gatherRows(dx, dz, filter, nullptr, i0, i1, h, w, ho, wo, C, fh, fw, dxRows, dxCols);
      filterGradRows(part, x, dz, r, e, ho, wo, h, w, C, fw, sw, dw, pl, plan.rows, plan.oxLo.data(), plan.oxHi.data(), plan.inLo, plan.inHi);
    }
  });
  sumPartials(dW, partials.data(), plan.chunks, stride, wSize);
  sumPartials(dB, partials.data() + wSize, plan.chunks, stride, C);
}

}  // namespace clue
