// Reductions over the middle axis of an [outer, R, inner] view (tfjs moves reduced axes
// together first), argmax/argmin, and the row softmax. Sums accumulate in double, as the
// JavaScript kernels do, so long reductions (a bias gradient over B·H·W rows) stay accurate.
#include <vector>

#include "kernels.h"
#include "parallel.h"

namespace clue {

enum ReduceOp { kSum = 0, kMean, kMax, kMin, kProd, kArgMax, kArgMin, kAll, kAny, kReduceCount };

CLUE_HOT static double sumRow(const float* x, int64_t n) {
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; i++) acc += double(x[i]);
  return acc;
}

// Rows summed in float over blocks of kBlockRows, each block then added in double: accurate over
// long sums (a bias gradient over B·H·W rows) without a conversion per element.
constexpr int64_t kBlockRows = 32;

CLUE_HOT static void accumulateRows(double* __restrict acc, const float* __restrict x, int64_t rows, int64_t inner) {
  constexpr int64_t kTile = 256;  // columns per pass: the float block stays in registers / L1
  float block[kTile];
  for (int64_t i0 = 0; i0 < inner; i0 += kTile) {
    const int64_t w = std::min(kTile, inner - i0);
    for (int64_t r0 = 0; r0 < rows; r0 += kBlockRows) {
      const int64_t r1 = std::min(rows, r0 + kBlockRows);
      for (int64_t i = 0; i < w; i++) block[i] = 0.0f;
      for (int64_t r = r0; r < r1; r++) {
        const float* row = x + r * inner + i0;
#pragma omp simd
        for (int64_t i = 0; i < w; i++) block[i] += row[i];
      }
      for (int64_t i = 0; i < w; i++) acc[i0 + i] += double(block[i]);
    }
  }
}

template <class T, class Better>
static void extremeRow(const T* x, int64_t n, int64_t stride, Better better, T* value, int32_t* index) {
  T best = x[0];
  int32_t at = 0;
  for (int64_t r = 1; r < n; r++) {
    T v = x[r * stride];
    if (better(v, best)) {
      best = v;
      at = int32_t(r);
    }
  }
  if (value) *value = best;
  if (index) *index = at;
}

// Column sums of a row-major [R, C] block with few columns (a bias gradient: Σ over B·H·W rows of
// dy). The kernels hold a float block of up to 128 columns in registers and flush it to double
// every kBlockRows rows, as accumulateRows does, so each float chain is as short as there and the
// error bound is the same; what they drop is the per-row loop overhead and the block's round trip
// through memory (a hot [65536, 16] sum: 130 → 54 µs).
//
// With C dividing a width W ≤ 128 that is a multiple of 16 (C = 16 → W = 128), U = W / C
// consecutive rows are read as one "super-row" of W floats: lane u·C + c sums rows ≡ u (mod U) of
// column c, so even C = 16 keeps 8 independent vector chains (one chain is latency-bound), and
// the U lanes of a column are added in double at the end.
template <int V>
__attribute__((always_inline)) inline void sumColumnsFixed(double* __restrict acc, const float* __restrict x, int64_t rows,
                                                           int64_t stride) {
  constexpr int W = 16 * V;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlockRows) {
    const int64_t n = std::min(kBlockRows, rows - r0);
    const float* p = x + r0 * stride;
    float block[W];
#pragma omp simd
    for (int j = 0; j < W; j++) block[j] = p[j];
    for (int64_t r = 1; r < n; r++) {
      p += stride;
#pragma omp simd
      for (int j = 0; j < W; j++) block[j] += p[j];
    }
#pragma omp simd
    for (int j = 0; j < W; j++) acc[j] += double(block[j]);
  }
}

/** acc[0, 16·V) += Σ over `rows` rows (`stride` floats apart) of x's first 16·V columns. */
CLUE_HOT static void sumColumns16(double* __restrict acc, const float* __restrict x, int64_t rows, int64_t stride, int V) {
  switch (V) {
    case 1: return sumColumnsFixed<1>(acc, x, rows, stride);
    case 2: return sumColumnsFixed<2>(acc, x, rows, stride);
    case 3: return sumColumnsFixed<3>(acc, x, rows, stride);
    case 4: return sumColumnsFixed<4>(acc, x, rows, stride);
    case 5: return sumColumnsFixed<5>(acc, x, rows, stride);
    case 6: return sumColumnsFixed<6>(acc, x, rows, stride);
    case 7: return sumColumnsFixed<7>(acc, x, rows, stride);
    default: return sumColumnsFixed<8>(acc, x, rows, stride);
  }
}

/**
 * acc[0, cols) += Σ over `rows` contiguous rows of `cols` floats: the register kernel where cols is
 * a multiple of 16 up to 128, else accumulateRows (wider or ragged rows gain little from registers).
 */
static void sumColumns(double* __restrict acc, const float* __restrict x, int64_t rows, int64_t cols) {
  if (cols % 16 == 0 && cols <= 128) sumColumns16(acc, x, rows, cols, int(cols / 16));
  else accumulateRows(acc, x, rows, cols);
}

/** Rows per super-row (see above) for C columns, or 1 where no multiple of 16 up to 128 fits. */
static int64_t superRowsFor(int64_t C) {
  if (C < 1 || C > 128) return 1;
  int64_t l = C;
  while (l % 16 != 0) l += C;  // lcm(C, 16) ≤ 16·C
  return l > 128 ? 1 : (128 / l) * l / C;
}

// Column sums are cut into chunks by size alone (not by thread count), each chunk's partial kept
// apart and the partials added in chunk order: the same bits for any number of threads. A chunk
// is 4 MB of input: one core streams that in ~60 µs from L3, and handing smaller pieces to the
// pool's other thread cost more than it saved in a training step on this shared 2-core machine
// (CLUE_nano's 71 Sums per step: 11–14 ms with one chunk below 4 MB, 17–24 ms with 1 MB chunks,
// 26–42 ms on the old kernel, all under heavy load from other processes).
constexpr int64_t kColumnGrain = 1 << 20;  // floats per chunk
constexpr int64_t kColumnChunks = 16;

static int64_t columnChunks(int64_t elements) {
  return std::clamp<int64_t>((elements + kColumnGrain - 1) / kColumnGrain, 1, kColumnChunks);
}

/** out[c] = scale · Σ_r x[r, c] for a row-major [R, C] x, over `chunks` pieces of the pool. */
static void columnSum(float* out, const float* x, int64_t R, int64_t C, double scale, int64_t chunks) {
  const int64_t U = superRowsFor(C), W = U * C, S = R / U;
  std::vector<double> partial(size_t(std::max<int64_t>(1, chunks) * W), 0.0);
  if (S > 0) {
    parallel_chunks(S, std::min(chunks, S), [&](int64_t s0, int64_t s1, int64_t t) {
      sumColumns(partial.data() + t * W, x + s0 * W, s1 - s0, W);
    });
  }
  std::vector<double> total(size_t(C), 0.0);
  for (int64_t t = 0; t < std::min(chunks, std::max<int64_t>(S, 1)); t++)
    for (int64_t u = 0; u < U; u++)
      for (int64_t c = 0; c < C; c++) total[size_t(c)] += partial[size_t(t * W + u * C + c)];
  for (int64_t r = S * U; r < R; r++)  // the last R mod U rows
    for (int64_t c = 0; c < C; c++) total[size_t(c)] += double(x[r * C + c]);
  for (int64_t c = 0; c < C; c++) out[c] = float(total[size_t(c)] * scale);
}

/**
 * Sum or mean of x[o, r, i] over r into out[o, i]. `tiled` keeps the general row-tiled kernel
 * (accumulateRows) where the column kernels would run: benchmarks and tests compare the two.
 */
static void sumReduce(float* out, const float* x, int64_t outer, int64_t R, int64_t inner, bool mean, bool tiled) {
  double scale = mean ? 1.0 / double(R) : 1.0;
  if (inner == 1) {
    parallel_for(outer, std::max<int64_t>(1, kGrain / std::max<int64_t>(R, 1)), [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; o++) out[o] = float(sumRow(x + o * R, R) * scale);
    });
    return;
  }
  if (!tiled) {
    const int64_t chunks = columnChunks(R * inner);
    if (outer >= chunks) {
      parallel_for(outer, std::max<int64_t>(1, kColumnGrain / std::max<int64_t>(R * inner, 1)), [&](int64_t o0, int64_t o1) {
        for (int64_t o = o0; o < o1; o++) columnSum(out + o * inner, x + o * R * inner, R, inner, scale, 1);
      });
    } else {
      for (int64_t o = 0; o < outer; o++) columnSum(out + o * inner, x + o * R * inner, R, inner, scale, chunks);
    }
    return;
  }
  int64_t chunks = chunksFor(outer * R * inner, kGrain);
  if (outer >= chunks) {
    parallel_for(outer, std::max<int64_t>(1, kGrain / std::max<int64_t>(R * inner, 1)), [&](int64_t o0, int64_t o1) {
      std::vector<double> acc(static_cast<size_t>(inner));
      for (int64_t o = o0; o < o1; o++) {
        std::fill(acc.begin(), acc.end(), 0.0);
        accumulateRows(acc.data(), x + o * R * inner, R, inner);
        for (int64_t i = 0; i < inner; i++) out[o * inner + i] = float(acc[size_t(i)] * scale);
      }
    });
    return;
  }
  // Few outputs, many rows (a bias gradient): each chunk sums a band of rows, bands added in order.
  for (int64_t o = 0; o < outer; o++) {
    std::vector<double> partial(size_t(chunks * inner), 0.0);
    const float* base = x + o * R * inner;
    parallel_chunks(R, chunks, [&](int64_t r0, int64_t r1, int64_t t) {
      accumulateRows(partial.data() + t * inner, base + r0 * inner, r1 - r0, inner);
    });
    for (int64_t i = 0; i < inner; i++) {
      double s = 0.0;
      for (int64_t t = 0; t < chunks; t++) s += partial[size_t(t * inner + i)];
      out[o * inner + i] = float(s * scale);
    }
  }
}

/**
 * reduce(op, out, x, outer, R, inner): out[o, i] = op over r of x[o, r, i]. Sum, mean, max, min,
 * prod take and give Float32Arrays; argmax/argmin give an Int32Array (first extreme wins); all/any
 * take and give Uint8Arrays. Max/min propagate NaN as Math.max does. An optional 7th argument 1
 * makes sum/mean use the general row-tiled kernel instead of the column kernels (for comparison).
 */
void reduce(const Args& args) {
  int op = int(args.integer(0));
  const bool tiled = args.count() > 6 && !args.isNull(6) && args.integer(6) == 1;
  int64_t outer = args.integer(3), R = args.integer(4), inner = args.integer(5);
  if (op < 0 || op >= kReduceCount) throw Error("reduce: unknown op " + std::to_string(op));
  if (R <= 0) throw Error("reduce: empty reduction");
  size_t outN = size_t(outer * inner), inN = size_t(outer * R * inner);
  if (op == kSum || op == kMean) {
    sumReduce(args.f32(1, outN), args.f32(2, inN), outer, R, inner, op == kMean, tiled);
    return;
  }
  int64_t grain = std::max<int64_t>(1, kGrain / R);
  if (op == kAll || op == kAny) {
    uint8_t* out = args.u8(1, outN);
    const uint8_t* x = args.u8(2, inN);
    parallel_for(outer * inner, grain, [&](int64_t q0, int64_t q1) {
      for (int64_t q = q0; q < q1; q++) {
        const uint8_t* p = x + (q / inner) * R * inner + q % inner;
        bool acc = op == kAll;
        for (int64_t r = 0; r < R; r++) acc = op == kAll ? (acc && p[r * inner]) : (acc || p[r * inner]);
        out[q] = acc;
      }
    });
    return;
  }
  const float* x = args.f32(2, inN);
  auto greater = [](float v, float best) { return v > best || (v != v && best == best); };
  auto less = [](float v, float best) { return v < best || (v != v && best == best); };
  if (op == kArgMax || op == kArgMin) {
    // tfjs: the first strictly better value wins; NaN never wins.
    int32_t* out = args.i32(1, outN);
    auto gt = [](float v, float best) { return v > best; };
    auto lt = [](float v, float best) { return v < best; };
    parallel_for(outer * inner, grain, [&](int64_t q0, int64_t q1) {
      for (int64_t q = q0; q < q1; q++) {
        const float* p = x + (q / inner) * R * inner + q % inner;
        if (op == kArgMax) extremeRow<float>(p, R, inner, gt, nullptr, out + q);
        else extremeRow<float>(p, R, inner, lt, nullptr, out + q);
      }
    });
    return;
  }
  float* out = args.f32(1, outN);
  if (op == kProd) {
    parallel_for(outer * inner, grain, [&](int64_t q0, int64_t q1) {
      for (int64_t q = q0; q < q1; q++) {
        const float* p = x + (q / inner) * R * inner + q % inner;
        double acc = 1.0;
        for (int64_t r = 0; r < R; r++) acc *= double(p[r * inner]);
        out[q] = float(acc);
      }
    });
    return;
  }
  if (inner == 1) {
    parallel_for(outer, grain, [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; o++) {
        if (op == kMax) extremeRow<float>(x + o * R, R, 1, greater, out + o, nullptr);
        else extremeRow<float>(x + o * R, R, 1, less, out + o, nullptr);
      }
    });
    return;
  }
  parallel_for(outer, std::max<int64_t>(1, kGrain / (R * inner)), [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; o++) {
      float* dst = out + o * inner;
      const float* src = x + o * R * inner;
      std::memcpy(dst, src, size_t(inner) * sizeof(float));
      for (int64_t r = 1; r < R; r++) {
        const float* row = src + r * inner;
        if (op == kMax) {
          for (int64_t i = 0; i < inner; i++) dst[i] = greater(row[i], dst[i]) ? row[i] : dst[i];
        } else {
          for (int64_t i = 0; i < inner; i++) dst[i] = less(row[i], dst[i]) ? row[i] : dst[i];
        }
      }
    }
  });
}

CLUE_HOT static void softmaxRows(float* __restrict y, const float* __restrict x, int64_t r0, int64_t r1, int64_t cols) {
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    // SIMD lanes for the max and the sum (a NaN anywhere still makes the whole row NaN).
    float m = xr[0];
#pragma omp simd reduction(max : m)
    for (int64_t j = 1; j < cols; j++) m = std::max(m, xr[j]);
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < cols; j++) {
      float e = fexp(xr[j] - m);
      yr[j] = e;
      s += e;
    }
    float inv = 1.0f / s;
#pragma omp simd
    for (int64_t j = 0; j < cols; j++) yr[j] *= inv;
  }
}

/** softmax(y, x, rows, cols): softmax along each contiguous row. */
void softmax(const Args& args) {
  int64_t rows = args.integer(2), cols = args.integer(3);
  float* y = args.f32(0, size_t(rows * cols));
  const float* x = args.f32(1, size_t(rows * cols));
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)),
               [&](int64_t r0, int64_t r1) { softmaxRows(y, x, r0, r1, cols); });
}

}  // namespace clue
