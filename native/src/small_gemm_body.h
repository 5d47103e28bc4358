// The hand-written GEMM, written once for any vector width: small_gemm.cc includes it in one
// namespace per instruction set, after defining V (a vector of W floats), zero, bcast, load,
// loadPart, store, storePart, fma, kMaxNV (vectors per panel) and rowsFor(nv) (rows per tile).
// Not a standalone header.

/**
 * An R×(NV·W) tile of C: R·NV accumulators in registers, one broadcast of A and NV loads of
 * packed B per step of the inner dimension. `cols` (> (NV−1)·W) columns of C are real; `bias`
 * (those columns of it, or null) is added unless `acc` (C += the product).
 */
template <int R, int NV>
static inline void tile(int64_t k, const float* a, int64_t sai, int64_t sap, const float* b, int64_t ldb, float* c, int64_t ldc, int cols,
                        bool acc, const float* bias) {
  V s[R][NV];
  const int last = cols - (NV - 1) * W;  // real columns in the last vector
  // Without `acc`, the sums start from the bias (or zero): the bias costs nothing here, where a
  // separate pass would read and write all of C again.
  V start[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; v++) start[v] = !bias ? zero() : (v < NV - 1 || last == W) ? load(bias + v * W) : loadPart(bias + v * W, last);
#pragma GCC unroll 16
  for (int r = 0; r < R; r++) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) {
      const float* cp = c + r * ldc + v * W;
      s[r][v] = !acc ? start[v] : (v < NV - 1 || last == W) ? load(cp) : loadPart(cp, last);
    }
  }
  const float* ar[R];
#pragma GCC unroll 16
  for (int r = 0; r < R; r++) ar[r] = a + r * sai;
  for (int64_t p = 0; p < k; p++) {
    V bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) bv[v] = load(b + p * ldb + v * W);
    const int64_t ap = p * sap;
#pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
      const V x = bcast(ar[r][ap]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; v++) s[r][v] = fma(x, bv[v], s[r][v]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; r++) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) {
      float* cp = c + r * ldc + v * W;
      if (v < NV - 1 || last == W) store(cp, s[r][v]);
      else storePart(cp, last, s[r][v]);
    }
  }
}

/** The last `rows` (< R) rows of a panel: the tile of exactly that height. */
template <int NV, int R>
static void tailRows(int rows, int64_t k, const float* a, int64_t sai, int64_t sap, const float* b, int64_t ldb, float* c, int64_t ldc, int cols,
                     bool acc, const float* bias) {
  if constexpr (R <= 1) {
    tile<1, NV>(k, a, sai, sap, b, ldb, c, ldc, cols, acc, bias);
  } else {
    if (rows == R) tile<R, NV>(k, a, sai, sap, b, ldb, c, ldc, cols, acc, bias);
    else tailRows<NV, R - 1>(rows, k, a, sai, sap, b, ldb, c, ldc, cols, acc, bias);
  }
}

/** m rows of one column panel (NV vectors wide) of C. */
template <int NV>
static void panel(int64_t m, int64_t k, const float* a, int64_t sai, int64_t sap, const float* b, int64_t ldb, float* c, int64_t ldc, int cols,
                  bool acc, const float* bias) {
  constexpr int R = rowsFor(NV);
  int64_t i = 0;
  for (; i + R <= m; i += R) tile<R, NV>(k, a + i * sai, sai, sap, b, ldb, c + i * ldc, ldc, cols, acc, bias);
  if (i < m) tailRows<NV, R - 1>(int(m - i), k, a + i * sai, sai, sap, b, ldb, c + i * ldc, ldc, cols, acc, bias);
}

/** A column panel `cols` (≤ kMaxNV·W) wide: the panel<NV> of just enough vectors. */
static void anyPanel(int64_t m, int64_t k, const float* a, int64_t sai, int64_t sap, const float* b, int64_t ldb, float* c, int64_t ldc, int cols,
                     bool acc, const float* bias) {
  switch ((cols + W - 1) / W) {
    case 1: panel<1>(m, k, a, sai, sap, b, ldb, c, ldc, cols, acc, bias); break;
    case 2: panel<2>(m, k, a, sai, sap, b, ldb, c, ldc, cols, acc, bias); break;
    case 3: panel<3>(m, k, a, sai, sap, b, ldb, c, ldc, cols, acc, bias); break;
    default: panel<4>(m, k, a, sai, sap, b, ldb, c, ldc, cols, acc, bias); break;
  }
}

/** dst[p·ld + j] = src[j·sj + p] for p < k, j < n (zeros up to ld): 8×8 blocks transposed in registers. */
static void packTransposed(float* dst, int64_t ld, const float* src, int64_t sj, int64_t k, int64_t n) {
  int64_t j0 = 0;
  for (; j0 + 8 <= n; j0 += 8) {
    const float* s0 = src + j0 * sj;
    int64_t p0 = 0;
    for (; p0 + 8 <= k; p0 += 8) {
      __m256 r[8], t[8];
#pragma GCC unroll 8
      for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(s0 + i * sj + p0);
#pragma GCC unroll 4
      for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
      }
#pragma GCC unroll 2
      for (int h = 0; h < 8; h += 4) {
        r[h] = _mm256_shuffle_ps(t[h], t[h + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[h + 1] = _mm256_shuffle_ps(t[h], t[h + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[h + 2] = _mm256_shuffle_ps(t[h + 1], t[h + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[h + 3] = _mm256_shuffle_ps(t[h + 1], t[h + 3], _MM_SHUFFLE(3, 2, 3, 2));
      }
#pragma GCC unroll 4
      for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(dst + (p0 + i) * ld + j0, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
        _mm256_storeu_ps(dst + (p0 + i + 4) * ld + j0, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
      }
    }
    for (; p0 < k; p0++)
      for (int64_t j = 0; j < 8; j++) dst[p0 * ld + j0 + j] = s0[j * sj + p0];
  }
  for (int64_t p = 0; p < k; p++) {
    for (int64_t j = j0; j < n; j++) dst[p * ld + j] = src[j * sj + p];
    std::fill(dst + p * ld + n, dst + (p + 1) * ld, 0.0f);
  }
}

// Rows of C per block: the block's rows of A stay in cache while every column panel uses them.
constexpr int64_t kRowBlock = 192;
// Floats of packed B (and, for a transposed A, of A's rows) one pass over the inner dimension
// keeps in cache; a longer inner dimension is cut into pieces that accumulate into C.
constexpr int64_t kPanelFloats = 1 << 15;

// m, n, k ≥ 1: gemm() handles empty products before calling.
static void run(const Gemm& g, bool accumulate, const float* bias) {
  // A(i, p) = a[i·sai + p·sap], B(p, j) = b[p·sbp + j·sbj].
  const int64_t sai = g.ta ? 1 : g.lda, sap = g.ta ? g.lda : 1;
  const int64_t sbp = g.tb ? 1 : g.ldb, sbj = g.tb ? g.ldb : 1;
  const int64_t npad = (g.n + W - 1) / W * W;
  const bool direct = sbj == 1 && g.n % W == 0;  // B's rows are already whole vectors
  // A transposed B under one row block: each column panel is packed just before its use, so the
  // packed panel stays in L1 instead of a whole k×n copy of B going out to L2 and back (1.6×
  // on batches of the attention scores [16,16]·[1024,16]ᵀ with B in cache, 1.25× with B cold).
  const bool perPanel = sbj != 1 && g.m <= kRowBlock && g.n > kMaxNV * W;
  const int64_t perStep = npad + (g.ta ? std::min(g.m, kRowBlock) : 0);
  const int64_t kc = g.k * perStep <= kPanelFloats ? g.k : std::max<int64_t>(64, kPanelFloats / perStep);
  thread_local std::vector<float> packed;
  if (!direct && packed.size() < size_t(std::min(kc, g.k) * npad)) packed.resize(size_t(std::min(kc, g.k) * npad));
  for (int64_t k0 = 0; k0 < g.k; k0 += kc) {
    const int64_t kn = std::min(kc, g.k - k0);
    const float* bp = g.b + k0 * sbp;
    const bool acc = accumulate || k0 > 0;
    const float* bk = acc ? nullptr : bias;
    const float* ak = g.a + k0 * sap;
    if (perPanel) {
      constexpr int64_t kPanel = kMaxNV * W;
      float* dst = packed.data();
      for (int64_t j0 = 0; j0 < g.n; j0 += kPanel) {
        const int cols = int(std::min<int64_t>(kPanel, g.n - j0));
        packTransposed(dst, kPanel, bp + j0 * sbj, sbj, kn, cols);
        anyPanel(g.m, kn, ak, sai, sap, dst, kPanel, g.c + j0, g.ldc, cols, acc, bk ? bk + j0 : nullptr);
      }
      continue;
    }
    int64_t ldb = sbp;
    if (!direct) {
      float* dst = packed.data();
      if (sbj == 1) {
        for (int64_t p = 0; p < kn; p++) {
          std::memcpy(dst + p * npad, bp + p * sbp, size_t(g.n) * sizeof(float));
          std::fill(dst + p * npad + g.n, dst + (p + 1) * npad, 0.0f);
        }
      } else {
        packTransposed(dst, npad, bp, sbj, kn, g.n);
      }
      bp = dst;
      ldb = npad;
    }
    for (int64_t i0 = 0; i0 < g.m; i0 += kRowBlock) {
      const int64_t mb = std::min(kRowBlock, g.m - i0);
      const float* ai = ak + i0 * sai;
      float* ci = g.c + i0 * g.ldc;
      for (int64_t j0 = 0; j0 < g.n; j0 += kMaxNV * W) {
        const int cols = int(std::min<int64_t>(kMaxNV * W, g.n - j0));
        const float* bj = bp + j0;
        float* cj = ci + j0;
        anyPanel(mb, kn, ai, sai, sap, bj, ldb, cj, g.ldc, cols, acc, bk ? bk + j0 : nullptr);
      }
    }
  }
}
