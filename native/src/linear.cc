// The dense layer's gradient (lib/engine/fused/linear.ts) in one sweep over the rows: for each
// cache-sized block of rows, dx = dy·wᵀ, dw += xᵀ·dy and dbias += Σ dy while the block's dy is in
// cache, instead of three kernels (two GEMMs and a column sum) each reading all of dy and each
// its own fork and join. For narrow layers (16–64 features) over many rows, where a pass over dy
// costs about as much as the products (16×64 over 65,536 rows: 13–18% less CPU time on one thread,
// 1.1–1.5× faster on two, under heavy load; the other nano shapes within ±10%).
#include <vector>

#include "gemm.h"
#include "kernels.h"
#include "parallel.h"

namespace clue {

// Rows of a block: its dy, x and dx (rows·(2k+n) floats) stay in L2 between the products.
// Measured on nano's shapes (one thread, CPU time): blocks of 1024 rows beat 64–256 by 5–15%
// (fewer switches between the products' streams, fewer loads and stores of dw's partial).
static int64_t blockRows(int64_t k, int64_t n) { return std::clamp<int64_t>(196608 / (2 * k + n) / 8 * 8, 32, 1024); }

// The row range is cut into a fixed number of chunks (from the shape, never the thread count),
// each with its own dw and dbias partials, summed in chunk order: the same bits on any pool.
constexpr int64_t kMaxChunks = 16;
constexpr double kChunkMacs = 1 << 19;

static void product(const Gemm& g, bool accumulate) {
  if (!smallGemm(g, accumulate)) gemm(g, accumulate);
}

/** sum[0, n) += Σ of `count` contiguous rows of n floats. */
CLUE_HOT static void addRows(float* __restrict sum, const float* __restrict rows, int64_t count, int64_t n) {
  if (128 % n == 0) {
    // Rows of up to 64 columns summed as super-rows of 128 floats: 8 vector chains rather than
    // one latency-bound chain through sum (a 16-column sum ran at a quarter of the FMAs' rate).
    const int64_t per = 128 / n, full = count / per;
    float acc[128] = {};
    for (int64_t s = 0; s < full; s++) {
      const float* p = rows + s * 128;
#pragma omp simd
      for (int j = 0; j < 128; j++) acc[j] += p[j];
    }
    for (int64_t u = 0; u < per; u++)
      for (int64_t j = 0; j < n; j++) sum[j] += acc[u * n + j];
    rows += full * 128;
    count -= full * per;
  }
  for (int64_t r = 0; r < count; r++) {
    const float* row = rows + r * n;
#pragma omp simd
    for (int64_t j = 0; j < n; j++) sum[j] += row[j];
  }
}

/**
 * linearGrad(dx|null, dw, dbias|null, dy, x, w, rows, k, n): for x [rows, k], w [k, n] and dy
 * [rows, n], dx = dy·wᵀ [rows, k] (unless null), dw = xᵀ·dy [k, n] and (unless null) dbias =
 * Σ_rows dy [n]. Without dx, dw and dbias are the same bits as with it (linearPair's gradient
 * sums its dx elsewhere and takes its parameter gradients from here).
 */
void linearGrad(const Args& args) {
  const int64_t rows = args.integer(6), k = args.integer(7), n = args.integer(8);
  if (rows < 0 || k < 1 || n < 1) throw Error("linearGrad: need rows ≥ 0 and k, n ≥ 1");
  float* dx = args.isNull(0) ? nullptr : args.f32(0, size_t(rows * k));
  float* dw = args.f32(1, size_t(k * n));
  float* dbias = args.isNull(2) ? nullptr : args.f32(2, size_t(n));
  const float* dy = args.f32(3, size_t(rows * n));
  const float* x = args.f32(4, size_t(rows * k));
  const float* w = args.f32(5, size_t(k * n));

  // wᵀ [n, k], so each block's dx is a product with B's rows as vectors (no packing per block).
  std::vector<float> wt(dx ? size_t(n * k) : 0);
  for (int64_t p = 0; dx && p < k; p++)
    for (int64_t j = 0; j < n; j++) wt[size_t(j * k + p)] = w[p * n + j];
  // dw is summed as dwᵀ = dyᵀ·x when it has more rows than columns, so the longer side is the
  // one held in vectors (as splitGemm does).
  const bool swap = k > n;
  const int64_t chunks = std::clamp<int64_t>(int64_t(double(rows) * double(k) * double(n) / kChunkMacs), 1, std::max<int64_t>(1, std::min(rows, kMaxChunks)));
  // Each chunk's partials (dw then dbias) start on their own cache line.
  const int64_t kn = k * n, stride = (kn + n + 15) / 16 * 16;
  std::vector<float> partial(size_t(chunks * stride), 0.0f);
  const int64_t block = blockRows(k, n);

  parallel_chunks(rows, chunks, [&](int64_t r0, int64_t r1, int64_t c) {
    float* pw = partial.data() + c * stride;
    float* pb = pw + kn;
    for (int64_t b0 = r0; b0 < r1; b0 += block) {
      const int64_t m = std::min(block, r1 - b0);
      const float* g = dy + b0 * n;
      const float* xb = x + b0 * k;
      if (dx) product(Gemm{false, false, m, k, n, n, k, k, g, wt.data(), dx + b0 * k}, false);
      if (swap) product(Gemm{true, false, n, k, m, n, k, k, g, xb, pw}, true);
      else product(Gemm{true, false, k, n, m, k, n, n, xb, g, pw}, true);
      if (dbias) addRows(pb, g, m, n);
    }
  });

  // Partial i's element (p, j) of dw sits at p·n + j, or at j·k + p when summed transposed.
  const int64_t sp = swap ? 1 : n, sj = swap ? k : 1;
  for (int64_t p = 0; p < k; p++)
    for (int64_t j = 0; j < n; j++) {
      float s = 0.0f;
      for (int64_t c = 0; c < chunks; c++) s += partial[size_t(c * stride + p * sp + j * sj)];
      dw[p * n + j] = s;
    }
  if (dbias)
    for (int64_t j = 0; j < n; j++) {
      float s = 0.0f;
      for (int64_t c = 0; c < chunks; c++) s += partial[size_t(c * stride + kn + j)];
      dbias[j] = s;
    }
}

}  // namespace clue
