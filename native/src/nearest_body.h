// The nearest-center kernel, written once for any vector width: nearest.cc includes it in one
// namespace per instruction set, after defining V (W floats), IV (W int32s), zero, izero, bcast,
// load, store, fma, vmax, vsqrt, vdiv, take (keep s and j in lanes where s > best), storeIndex,
// kRows and kCenters.
// Not a standalone header.

/**
 * Centers [j, j + C) against R vectors of points: R·C similarities in registers, summed as the
 * small GEMM sums them (from zero, one FMA per p in order), then each lane keeps the greater of
 * its best and each center's similarity in center order, so equal similarities keep the earlier
 * index. `first` (j = 0): center 0 is every lane's starting best, NaN included, as firstMax has it.
 */
template <int R, int C>
static inline void centers(V (&best)[R], IV (&at)[R], const float* xt, int64_t ldx, const float* ct, int64_t ldc, int64_t j, int64_t d,
                           bool first) {
  V s[R][C];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++) {
#pragma GCC unroll 16
    for (int c = 0; c < C; c++) s[r][c] = zero();
  }
  const float* cj = ct + j;
  for (int64_t p = 0; p < d; p++) {
    V x[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) x[r] = load(xt + p * ldx + r * W);
#pragma GCC unroll 16
    for (int c = 0; c < C; c++) {
      const V b = bcast(cj[p * ldc + c]);
#pragma GCC unroll 8
      for (int r = 0; r < R; r++) s[r][c] = fma(x[r], b, s[r][c]);
    }
  }
  int c0 = 0;
  if (first) {
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      best[r] = s[r][0];
      at[r] = izero();
    }
    c0 = 1;
  }
#pragma GCC unroll 16
  for (int c = c0; c < C; c++) {
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) take(best[r], at[r], s[r][c], int32_t(j + c));
  }
}

/** The last `left` (< C) centers: the block of exactly that many. */
template <int R, int C>
static void lastCenters(int left, V (&best)[R], IV (&at)[R], const float* xt, int64_t ldx, const float* ct, int64_t ldc, int64_t j, int64_t d,
                        bool first) {
  if constexpr (C <= 1) {
    centers<R, 1>(best, at, xt, ldx, ct, ldc, j, d, first);
  } else {
    if (left == C) centers<R, C>(best, at, xt, ldx, ct, ldc, j, d, first);
    else lastCenters<R, C - 1>(left, best, at, xt, ldx, ct, ldc, j, d, first);
  }
}

/** R vectors of points (R·W lanes of xt; `rows` of them real) against all m centers. */
template <int R>
static void points(int32_t* index, const float* xt, int64_t ldx, int64_t rows, const float* ct, int64_t ldc, int64_t m, int64_t d) {
  V best[R];
  IV at[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++) {  // set from center 0 in the first block; this quiets the compiler
    best[r] = zero();
    at[r] = izero();
  }
  int64_t j = 0;
  for (; j + kCenters <= m; j += kCenters) centers<R, kCenters>(best, at, xt, ldx, ct, ldc, j, d, j == 0);
  if (j < m) lastCenters<R, kCenters - 1>(int(m - j), best, at, xt, ldx, ct, ldc, j, d, j == 0);
#pragma GCC unroll 8
  for (int r = 0; r < R; r++) {
    const int64_t real = std::min<int64_t>(W, rows - r * W);
    if (real <= 0) break;
    alignas(64) int32_t lanes[W];
    storeIndex(lanes, at[r]);
    std::memcpy(index + r * W, lanes, size_t(real) * sizeof(int32_t));
  }
}

static void block(int32_t* index, const float* xt, int64_t ldx, int64_t rows, const float* ct, int64_t ldc, int64_t m, int64_t d) {
  const int64_t vectors = (rows + W - 1) / W;
  int64_t v = 0;
  for (; v + kRows <= vectors; v += kRows) points<kRows>(index + v * W, xt + v * W, ldx, rows - v * W, ct, ldc, m, d);
  for (; v < vectors; v++) points<1>(index + v * W, xt + v * W, ldx, rows - v * W, ct, ldc, m, d);
}

static void normalized(float* t, int64_t ld, const float* rows, int64_t n, int64_t d, float eps) {
  packTransposedPanel(t, ld, rows, d, d, n);  // runs: this kernel is only used on the small GEMM's instruction set
  const V tiny = bcast(eps);
  for (int64_t i = 0; i < ld; i += W) {
    V s = zero();
    for (int64_t p = 0; p < d; p++) {
      const V x = load(t + p * ld + i);
      s = fma(x, x, s);
    }
    // max(‖x‖, eps) with a NaN norm kept, as std::max(norm, eps) keeps it: vmax gives its second operand when either is NaN.
    const V norm = vmax(tiny, vsqrt(s));
    for (int64_t p = 0; p < d; p++) store(t + p * ld + i, vdiv(load(t + p * ld + i), norm));
  }
}
