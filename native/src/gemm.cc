// Matrix products: dnnl_sgemm (oneDNN's JIT GEMM, row-major, single-threaded per call) or, for
// small and skinny shapes, the hand-written kernel (small_gemm.cc), on pieces of the product
// spread over the pool — rows, columns, the batch, or the inner dimension
// with partial sums — with bias and activation applied while each piece is in cache.
#include <dnnl.h>

#include <atomic>
#include <vector>

#include "gemm.h"
#include "kernels.h"
#include "parallel.h"

namespace clue {

enum Activation { kLinear = 0, kRelu = 1, kRelu6 = 2, kSigmoid = 3, kLeakyRelu = 4, kElu = 5 };

CLUE_HOT static void epilogue(float* c, const float* bias, int64_t rows, int64_t n, int64_t ldc, int act, float alpha) {
  for (int64_t r = 0; r < rows; r++) {
    float* row = c + r * ldc;
    if (bias) {
      for (int64_t j = 0; j < n; j++) row[j] += bias[j];
    }
    switch (act) {
      case kRelu: for (int64_t j = 0; j < n; j++) row[j] = row[j] < 0.0f ? 0.0f : row[j]; break;
      case kRelu6: for (int64_t j = 0; j < n; j++) { float v = row[j] < 0.0f ? 0.0f : row[j]; row[j] = v > 6.0f ? 6.0f : v; } break;
      case kSigmoid: for (int64_t j = 0; j < n; j++) row[j] = fsigmoid(row[j]); break;
      case kLeakyRelu: for (int64_t j = 0; j < n; j++) row[j] = row[j] < 0.0f ? alpha * row[j] : row[j]; break;
      case kElu: for (int64_t j = 0; j < n; j++) row[j] = row[j] < 0.0f ? fexp(row[j]) - 1.0f : row[j]; break;
      default: break;
    }
  }
}

// Which kernel a product runs on: 0 the measured choice (useSmall), 1 always dnnl_sgemm, 2 always
// the hand-written one. Set at run time (gemmPolicy) by the benchmark that measures the choice
// and by tests that check both kernels on the same shapes.
static std::atomic<int> policy{0};

/**
 * Whether the hand-written kernel beats dnnl_sgemm on this shape, from single-threaded timings
 * of CLUE_nano's products on AVX-512 (Zen 4): it wins on every product under 64³ multiply-adds
 * (sgemm's per-call cost dominates, 3–4× on batches of 16×16×16), on 16 columns (1.4×), and on
 * up to 64 columns with a short inner dimension; sgemm stays ahead by 10–30% from 128 columns,
 * on 32 columns with a long inner dimension, and on tall weight gradients with 32+ rows and 16
 * columns (which splitGemm now sums transposed, as 16 rows).
 * Re-measured with the bias in the kernel and weight gradients summed as Cᵀ (splitGemm): every
 * one of the 69 single products of a nano training step at batch 64, full size, one thread, both
 * kernels called alternately, fastest of 15 by CPU time: each product routed here measured
 * 1.0–1.65× sgemm's speed (16-wide ones 1.26–1.65×) but two one-column products of a few µs
 * (0.4–0.5×), each routed to sgemm 0.74–1.09× (`npm run bench -- gemm` repeats this, 2 threads).
 */
static bool useSmall(const Gemm& g) {
  const int forced = policy.load(std::memory_order_relaxed);
  if (forced != 0) return forced == 2;
  if (double(g.m) * double(g.n) * double(g.k) <= 64.0 * 64.0 * 64.0) return true;
  if (g.n <= 16) return !(g.m >= 32 && g.k > 8 * g.m);
  if (g.n <= 64) return g.k <= 64 || g.n > 32;
  return false;
}

void gemm(const Gemm& g, bool accumulate, const float* bias) {
  if (g.m <= 0 || g.n <= 0) return;
  if (accumulate) bias = nullptr;
  if (g.k <= 0) {
    if (!accumulate)
      for (int64_t r = 0; r < g.m; r++) {
        float* row = g.c + r * g.ldc;
        if (bias) std::copy(bias, bias + g.n, row);
        else std::fill(row, row + g.n, 0.0f);
      }
    return;
  }
  if (useSmall(g) && smallGemm(g, accumulate, bias)) return;
  dnnl_status_t s = dnnl_sgemm(g.ta ? 'T' : 'N', g.tb ? 'T' : 'N', g.m, g.n, g.k, 1.0f, g.a, g.lda, g.b, g.ldb, accumulate ? 1.0f : 0.0f, g.c, g.ldc);
  if (s != dnnl_success) throw Error("dnnl_sgemm failed with status " + std::to_string(int(s)));
  if (bias) epilogue(g.c, bias, g.m, g.n, g.ldc, kLinear, 0.0f);
}

// A piece of GEMM below this many multiply-adds is not worth a thread.
constexpr double kMinChunkMacs = 1 << 20;

/** Rows [r0, r1) of C. */
static Gemm rowsOf(const Gemm& g, int64_t r0, int64_t r1) {
  Gemm p = g;
  p.m = r1 - r0;
  p.a = g.ta ? g.a + r0 : g.a + r0 * g.lda;
  p.c = g.c + r0 * g.ldc;
  return p;
}

/** Columns [c0, c1) of C. */
static Gemm colsOf(const Gemm& g, int64_t c0, int64_t c1) {
  Gemm p = g;
  p.n = c1 - c0;
  p.b = g.tb ? g.b + c0 * g.ldb : g.b + c0;
  p.c = g.c + c0;
  return p;
}

/** The inner range [k0, k1) (a partial product). */
static Gemm innerOf(const Gemm& g, int64_t k0, int64_t k1) {
  Gemm p = g;
  p.k = k1 - k0;
  p.a = g.ta ? g.a + k0 * g.lda : g.a + k0;
  p.b = g.tb ? g.b + k0 : g.b + k0 * g.ldb;
  return p;
}

// Rows of C one piece of a row-split product writes: small enough that oneDNN's output is still in
// cache when the bias and activation are applied, large enough that a call's setup is amortised.
constexpr int64_t kRowPieceFloats = 1 << 16;

/**
 * One product spread over the pool, then bias and activation; with `accumulate`, C += the product
 * (no bias or activation then).
 */
static void splitGemm(const Gemm& g, const float* bias, int act, float alpha, bool accumulate = false) {
  if (accumulate) bias = nullptr, act = kLinear;
  double macs = double(g.m) * double(g.n) * double(g.k);
  int64_t most = 2 * poolThreads();
  int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(most, int64_t(macs / kMinChunkMacs)));
  if (chunks > 1 && g.k > 8 * std::max(g.m, g.n) && g.m * g.n <= (1 << 16)) {
    // A tall inner dimension (a weight gradient summed over every pixel): partial products, one
    // per chunk, summed in chunk order (the same bits whichever thread ran which chunk). With
    // more rows than columns, each partial is Cᵀ = op(B)ᵀ·op(A)ᵀ, so the longer side is the one
    // the kernels hold in vectors: the hand-written kernel then reads whole rows of A per step
    // rather than a few floats of each (64×16 from 65,536 pixels: 1.5–1.8× single-threaded).
    const bool swap = g.m > g.n;
    const Gemm t = swap ? Gemm{!g.tb, !g.ta, g.n, g.m, g.k, g.ldb, g.lda, g.m, g.b, g.a, nullptr} : g;
    std::vector<float> partial(size_t(chunks * g.m * g.n));
    parallel_chunks(g.k, chunks, [&](int64_t k0, int64_t k1, int64_t i) {
      Gemm p = innerOf(t, k0, k1);
      p.c = partial.data() + i * g.m * g.n;
      p.ldc = t.n;
      gemm(p);
    });
    // Element (r, j) of C in partial i.
    const int64_t sr = swap ? 1 : g.n, sj = swap ? g.m : 1;
    parallel_for(g.m, std::max<int64_t>(1, kGrain / std::max<int64_t>(g.n, 1)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; r++) {
        float* dst = g.c + r * g.ldc;
        for (int64_t j = 0; j < g.n; j++) {
          float s = 0.0f;
          for (int64_t i = 0; i < chunks; i++) s += partial[size_t(i * g.m * g.n + r * sr + j * sj)];
          dst[j] = accumulate ? dst[j] + s : s;
        }
        if (bias || act != kLinear) epilogue(dst, bias, 1, g.n, g.ldc, act, alpha);
      }
    });
    return;
  }
  if (chunks > 1 && g.m >= g.n && g.m >= 2 * chunks) {
    // Rows: pieces of at most kRowPieceFloats outputs (more of them than threads, claimed as they
    // come, so a core another process holds delays only its own piece), each finished — bias and
    // activation — while in cache.
    const int64_t pieceRows = std::max<int64_t>(1, std::max(kRowPieceFloats / g.n, int64_t(kMinChunkMacs / double(g.n * g.k))));
    const int64_t pieces = std::max(chunks, std::min<int64_t>(int64_t(macs / kMinChunkMacs), (g.m + pieceRows - 1) / pieceRows));
    parallel_chunks(g.m, pieces, [&](int64_t r0, int64_t r1, int64_t) {
      Gemm p = rowsOf(g, r0, r1);
      gemm(p, accumulate, bias);
      if (act != kLinear) epilogue(p.c, nullptr, p.m, p.n, p.ldc, act, alpha);
    });
    return;
  }
  if (chunks > 1 && g.n >= 2 * chunks) {
    parallel_chunks(g.n, chunks, [&](int64_t c0, int64_t c1, int64_t) { gemm(colsOf(g, c0, c1), accumulate, bias ? bias + c0 : nullptr); });
  } else {
    gemm(g, accumulate, bias);
  }
  if (act != kLinear) {
    parallel_for(g.m, std::max<int64_t>(1, kGrain / std::max<int64_t>(g.n, 1)),
                 [&](int64_t r0, int64_t r1) { epilogue(g.c + r0 * g.ldc, nullptr, r1 - r0, g.n, g.ldc, act, alpha); });
  }
}

/**
 * Σ_i terms[i] into their shared C (every term has C's m, n, c and ldc). Where matmul would split
 * C by rows, each row piece gets all the terms in turn while it is in cache (C is written once);
 * otherwise the terms run one after another, each split as matmul splits it, the later ones
 * accumulated. Either way each element is the first product plus the next ones, in term order.
 */
static void splitGemmSum(const Gemm* terms, int64_t count) {
  const Gemm& g = terms[0];
  double macs = 0.0, inner = 0.0;
  for (int64_t i = 0; i < count; i++) {
    macs += double(g.m) * double(g.n) * double(terms[i].k);
    inner += double(terms[i].k);
  }
  int64_t most = 2 * poolThreads();
  int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(most, int64_t(macs / kMinChunkMacs)));
  if (chunks > 1 && g.m >= g.n && g.m >= 2 * chunks) {
    const int64_t pieceRows = std::max<int64_t>(1, std::max(kRowPieceFloats / g.n, int64_t(kMinChunkMacs / (double(g.n) * inner))));
    const int64_t pieces = std::max(chunks, std::min<int64_t>(int64_t(macs / kMinChunkMacs), (g.m + pieceRows - 1) / pieceRows));
    parallel_chunks(g.m, pieces, [&](int64_t r0, int64_t r1, int64_t) {
      for (int64_t i = 0; i < count; i++) gemm(rowsOf(terms[i], r0, r1), i > 0);
    });
    return;
  }
  for (int64_t i = 0; i < count; i++) splitGemm(terms[i], nullptr, kLinear, 0.0f, i > 0);
}

/**
 * matmulSum(out, m, n, transA, transB, a1, b1, k1, a2, b2, k2, …): out = Σ_i op(a_i)·op(b_i), each
 * a_i m×k_i and b_i k_i×n (before the transposes) — a layer pair's input gradient dy₁·w₁ᵀ + dy₂·w₂ᵀ
 * summed in one kernel instead of two products and an Add over them.
 */
void matmulSum(const Args& args) {
  int64_t m = args.integer(1), n = args.integer(2);
  bool ta = args.integer(3) != 0, tb = args.integer(4) != 0;
  if ((args.count() - 5) % 3 != 0 || args.count() < 8) throw Error("matmulSum: need out, m, n, transA, transB, then (a, b, k) per term");
  const int64_t count = int64_t(args.count() - 5) / 3;
  float* out = args.f32(0, size_t(m * n));
  std::vector<Gemm> terms;
  for (int64_t i = 0; i < count; i++) {
    const size_t at = size_t(5 + 3 * i);
    const int64_t k = args.integer(at + 2);
    const float* a = args.f32(at, size_t(m * k));
    const float* b = args.f32(at + 1, size_t(k * n));
    terms.push_back(Gemm{ta, tb, m, n, k, ta ? m : k, tb ? k : n, n, a, b, out});
  }
  if (m <= 0 || n <= 0) return;
  splitGemmSum(terms.data(), count);
}

/** gemmPolicy(p): 0 the measured routing, 1 always oneDNN, 2 always the hand-written kernel. */
void gemmPolicy(const Args& args) {
  int64_t p = args.integer(0);
  if (p < 0 || p > 2) throw Error("gemmPolicy: need 0 (measured routing), 1 (oneDNN) or 2 (hand-written)");
  policy.store(int(p));
}

/**
 * matmul(out, a, b, bias|null, batchA, batchB, m, n, k, transA, transB, activation, alpha):
 * out[i] = act(op(a[i or 0]) · op(b[i or 0]) + bias) for i < max(batchA, batchB); a batch of 1
 * broadcasts. bias has n elements.
 */
void matmul(const Args& args) {
  int64_t batchA = args.integer(4), batchB = args.integer(5);
  int64_t m = args.integer(6), n = args.integer(7), k = args.integer(8);
  bool ta = args.integer(9) != 0, tb = args.integer(10) != 0;
  int act = int(args.integer(11));
  float alpha = float(args.number(12));
  int64_t batch = std::max(batchA, batchB);
  float* out = args.f32(0, size_t(batch * m * n));
  const float* a = args.f32(1, size_t(batchA * m * k));
  const float* b = args.f32(2, size_t(batchB * k * n));
  const float* bias = args.isNull(3) ? nullptr : args.f32(3, size_t(n));
  if ((batchA != 1 && batchA != batch) || (batchB != 1 && batchB != batch)) throw Error("matmul: batch sizes do not broadcast");
  int64_t sa = batchA == 1 ? 0 : m * k, sb = batchB == 1 ? 0 : k * n;
  Gemm g{ta, tb, m, n, k, ta ? m : k, tb ? k : n, n, a, b, out};
  auto item = [&](int64_t i) {
    Gemm p = g;
    p.a = a + i * sa;
    p.b = b + i * sb;
    p.c = out + i * m * n;
    return p;
  };
  double macs = double(m) * double(n) * double(k);
  if (batch == 1) {
    splitGemm(g, bias, act, alpha);
  } else if (double(batch) * macs < kMinChunkMacs || batch >= 2 * poolThreads() || macs < 4 * kMinChunkMacs) {
    // The batch is the parallel axis: whole products per chunk.
    int64_t grain = std::max<int64_t>(1, int64_t(kMinChunkMacs / std::max(macs, 1.0)));
    parallel_for(batch, grain, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++) {
        Gemm p = item(i);
        gemm(p, false, bias);
        if (act != kLinear) epilogue(p.c, nullptr, m, n, n, act, alpha);
      }
    });
  } else {
    for (int64_t i = 0; i < batch; i++) splitGemm(item(i), bias, act, alpha);
  }
}

}  // namespace clue
