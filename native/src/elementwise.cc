// Elementwise unary and broadcasting binary ops, with TensorFlow.js' semantics (NaN handling
// included), parallel over both cores and vectorised.
#include <vector>

#include <xmmintrin.h>

#include "kernels.h"
#include "parallel.h"
#include "strides.h"

namespace clue {

enum UnaryOp {
  kIdentity = 0, kNeg, kAbs, kSquare, kSqrt, kRsqrt, kExp, kLog, kRelu, kRelu6,
  kSigmoid, kTanh, kErf, kStep, kReciprocal, kElu, kLeakyRelu, kSoftplus, kFloor, kCeil,
  kRound, kSign, kLog1p, kExpm1, kClip, kSin, kCos, kSelu, kUnaryCount
};

CLUE_HOT static void unaryRange(int op, float* __restrict y, const float* __restrict x, int64_t n, float alpha, float beta) {
  switch (op) {
    case kIdentity: std::memcpy(y, x, size_t(n) * sizeof(float)); break;
    case kNeg: for (int64_t i = 0; i < n; i++) y[i] = -x[i]; break;
    case kAbs: for (int64_t i = 0; i < n; i++) y[i] = std::fabs(x[i]); break;
    case kSquare: for (int64_t i = 0; i < n; i++) y[i] = x[i] * x[i]; break;
    case kSqrt: for (int64_t i = 0; i < n; i++) y[i] = std::sqrt(x[i]); break;
    case kRsqrt: for (int64_t i = 0; i < n; i++) y[i] = 1.0f / std::sqrt(x[i]); break;
    case kExp: for (int64_t i = 0; i < n; i++) y[i] = fexp(x[i]); break;
    case kLog: for (int64_t i = 0; i < n; i++) y[i] = std::log(x[i]); break;
    case kRelu: for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i]; break;
    case kRelu6: for (int64_t i = 0; i < n; i++) { float v = x[i] < 0.0f ? 0.0f : x[i]; y[i] = v > 6.0f ? 6.0f : v; } break;
    case kSigmoid: for (int64_t i = 0; i < n; i++) y[i] = fsigmoid(x[i]); break;
    case kTanh: for (int64_t i = 0; i < n; i++) y[i] = ftanh(x[i]); break;
    case kErf: for (int64_t i = 0; i < n; i++) y[i] = ferf(x[i]); break;
    case kStep: for (int64_t i = 0; i < n; i++) y[i] = x[i] != x[i] ? x[i] : (x[i] > 0.0f ? 1.0f : alpha); break;
    case kReciprocal: for (int64_t i = 0; i < n; i++) y[i] = 1.0f / x[i]; break;
    case kElu: for (int64_t i = 0; i < n; i++) y[i] = x[i] >= 0.0f ? x[i] : fexp(x[i]) - 1.0f; break;
    case kLeakyRelu: for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0.0f ? alpha * x[i] : x[i]; break;
    case kSoftplus: {
      // TensorFlow's thresholds: exp(x) below log(eps)+2, x above -(log(eps)+2).
      const float threshold = std::log(1.1920928955078125e-7f) + 2.0f;
      for (int64_t i = 0; i < n; i++) {
        float v = x[i], e = fexp(v);
        y[i] = v < threshold ? e : (v > -threshold ? v : std::log1p(e));
      }
      break;
    }
    case kFloor: for (int64_t i = 0; i < n; i++) y[i] = std::floor(x[i]); break;
    case kCeil: for (int64_t i = 0; i < n; i++) y[i] = std::ceil(x[i]); break;
    case kRound: for (int64_t i = 0; i < n; i++) y[i] = std::nearbyint(x[i]); break;
    case kSign: for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0.0f ? -1.0f : (x[i] > 0.0f ? 1.0f : 0.0f); break;
    case kLog1p: for (int64_t i = 0; i < n; i++) y[i] = std::log1p(x[i]); break;
    case kExpm1: for (int64_t i = 0; i < n; i++) y[i] = std::expm1(x[i]); break;
    case kClip: for (int64_t i = 0; i < n; i++) y[i] = x[i] > beta ? beta : (x[i] < alpha ? alpha : x[i]); break;
    case kSin: for (int64_t i = 0; i < n; i++) y[i] = std::sin(x[i]); break;
    case kCos: for (int64_t i = 0; i < n; i++) y[i] = std::cos(x[i]); break;
    case kSelu: {
      const float scaleAlpha = 1.7580993408473768599402175208123f, scale = 1.0507009873554804934193349852946f;
      for (int64_t i = 0; i < n; i++) y[i] = x[i] >= 0.0f ? scale * x[i] : scaleAlpha * (fexp(x[i]) - 1.0f);
      break;
    }
    default: break;
  }
}

/** unary(op, y, x, alpha, beta): y = op(x); y may be x. */
void unary(const Args& args) {
  int op = int(args.integer(0));
  if (op < 0 || op >= kUnaryCount) throw Error("unary: unknown op " + std::to_string(op));
  size_t n = args.length(2);
  float* y = args.f32(1, n);
  const float* x = args.f32(2, n);
  float alpha = float(args.number(3)), beta = float(args.number(4));
  parallel_for(int64_t(n), kGrain, [&](int64_t b, int64_t e) { unaryRange(op, y + b, x + b, e - b, alpha, beta); });
}

enum BinaryOp {
  kAdd = 0, kSub, kMul, kDiv, kMax, kMin, kSquaredDifference, kPow,
  kEqual, kNotEqual, kGreater, kGreaterEqual, kLess, kLessEqual, kLogicalAnd, kLogicalOr, kBinaryCount
};

// One row of a broadcast binary op: operand strides along the row are 0 (broadcast) or 1.
#define CLUE_ROW(EXPR)                                                                   \
  if (as == 1 && bs == 1) {                                                              \
    for (int64_t i = 0; i < n; i++) { float x = a[i], y = b[i]; o[i] = (EXPR); }      \
  } else if (as == 1) {                                                                  \
    const float y = b[0];                                                                \
    for (int64_t i = 0; i < n; i++) { float x = a[i]; o[i] = (EXPR); }                 \
  } else if (bs == 1) {                                                                  \
    const float x = a[0];                                                                \
    for (int64_t i = 0; i < n; i++) { float y = b[i]; o[i] = (EXPR); }                 \
  } else {                                                                               \
    float x = a[0], y = b[0];                                                            \
    float v = (EXPR);                                                                    \
    for (int64_t i = 0; i < n; i++) o[i] = v;                                            \
  }

// Rows [q0, q1) of a rank-2 broadcast (a bias over rows, a per-row scale): the op is chosen once
// and the row loop runs inside, so short rows (16–64 channels) pay no per-row dispatch.
#define CLUE_ROWS(EXPR)                                    \
  for (int64_t q = q0; q < q1; q++) {                      \
    const float* __restrict a = A + q * sa0;               \
    const float* __restrict b = B + q * sb0;               \
    float* __restrict o = O + q * n;                       \
    CLUE_ROW(EXPR)                                         \
  }

CLUE_HOT static void floatRows(int op, float* __restrict O, const float* __restrict A, int64_t sa0, int64_t as, const float* __restrict B,
                               int64_t sb0, int64_t bs, int64_t q0, int64_t q1, int64_t n) {
  switch (op) {
    case kAdd: CLUE_ROWS(x + y) break;
    case kSub: CLUE_ROWS(x - y) break;
    case kMul: CLUE_ROWS(x * y) break;
    case kDiv: CLUE_ROWS(x / y) break;
    case kMax: CLUE_ROWS(x != x ? x : (y != y ? y : (x > y ? x : y))) break;
    case kMin: CLUE_ROWS(x != x ? x : (y != y ? y : (x < y ? x : y))) break;
    case kSquaredDifference: CLUE_ROWS((x - y) * (x - y)) break;
    case kPow: CLUE_ROWS(std::pow(x, y)) break;
    default: break;
  }
}

/** One row: o[i] = a[i·as] op b[i·bs] with strides 0 or 1. */
static void floatRow(int op, float* o, const float* a, int64_t as, const float* b, int64_t bs, int64_t n) {
  floatRows(op, o, a, 0, as, b, 0, bs, 0, 1, n);
}

template <class In>
static void compareRow(int op, uint8_t* __restrict o, const In* __restrict a, int64_t as, const In* __restrict b, int64_t bs, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    In x = a[i * as], y = b[i * bs];
    bool r;
    switch (op) {
      case kEqual: r = x == y; break;
      case kNotEqual: r = x != y; break;
      case kGreater: r = x > y; break;
      case kGreaterEqual: r = x >= y; break;
      case kLess: r = x < y; break;
      case kLessEqual: r = x <= y; break;
      case kLogicalAnd: r = x && y; break;
      default: r = x || y; break;
    }
    o[i] = r;
  }
}

/**
 * Calls row(outOffset, aOffset, bOffset, innerStrideA, innerStrideB, length) for every row of a
 * collapsed broadcast, rows spread over the pool (one long row is cut into pieces). Inner strides that are neither 0 nor 1 are
 * walked element by element (rows of length 1).
 */
template <class Row>
static void forEachRow(std::vector<int64_t> shape, std::vector<int64_t> sa, std::vector<int64_t> sb, Row&& row) {
  collapseDims(shape, sa, sb);
  int64_t r = int64_t(shape.size());
  int64_t inner = shape[r - 1], ia = sa[r - 1], ib = sb[r - 1];
  if ((ia != 0 && ia != 1) || (ib != 0 && ib != 1)) {
    // Not unit-stride innermost: treat the last dim as an outer one with rows of 1.
    shape.push_back(1);
    sa.push_back(0);
    sb.push_back(0);
    r++;
    inner = 1;
    ia = ib = 0;
  }
  int64_t rows = 1;
  for (int64_t d = 0; d < r - 1; d++) rows *= shape[d];
  if (rows == 1) {
    // One long row (same shapes, or a scalar operand): cut into pieces for the pool.
    parallel_for(inner, kGrain, [&](int64_t i0, int64_t i1) { row(i0, i0 * ia, i0 * ib, ia, ib, i1 - i0); });
    return;
  }
  parallel_for(rows, std::max<int64_t>(1, kGrain / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t q = r0; q < r1; q++) {
      int64_t rem = q, oa = 0, ob = 0;
      for (int64_t d = r - 2; d >= 0; d--) {
        int64_t i = rem % shape[d];
        rem /= shape[d];
        oa += i * sa[d];
        ob += i * sb[d];
      }
      row(q * inner, oa, ob, ia, ib, inner);
    }
  });
}

// Sums of whole large arrays (a backward pass's gradient accumulation: a few MB each, read once
// from memory) write their output with non-temporal stores: no read-for-ownership of output lines
// that are about to be overwritten, a quarter of the memory traffic.
constexpr int64_t kStreamElements = int64_t(1) << 19;

CLUE_HOT static void addStreaming(float* __restrict o, const float* __restrict a, const float* __restrict b, int64_t n) {
  int64_t i = 0;
  for (; i < n && (reinterpret_cast<uintptr_t>(o + i) & 63) != 0; i++) o[i] = a[i] + b[i];
  typedef float u16 __attribute__((vector_size(64), aligned(4), may_alias));
  for (; i + 16 <= n; i += 16) {
    u16 s = *reinterpret_cast<const u16*>(a + i) + *reinterpret_cast<const u16*>(b + i);
    alignas(64) float t[16];
    *reinterpret_cast<u16*>(t) = s;
    for (int k = 0; k < 16; k += 4) _mm_stream_ps(o + i + k, _mm_load_ps(t + k));
  }
  for (; i < n; i++) o[i] = a[i] + b[i];
  _mm_sfence();
}

/**
 * binary(op, out, a, b, shape, stridesA, stridesB): out (contiguous, `shape`) = a op b where a
 * and b are read with the given element strides (0 along broadcast dims). Arithmetic ops take
 * and give Float32Arrays; comparisons give a Uint8Array from Float32Arrays or Int32Arrays;
 * logical and/or take Uint8Arrays.
 */
void binary(const Args& args) {
  int op = int(args.integer(0));
  if (op < 0 || op >= kBinaryCount) throw Error("binary: unknown op " + std::to_string(op));
  std::vector<int64_t> shape = args.ints(4), sa = args.ints(5), sb = args.ints(6);
  if (sa.size() != shape.size() || sb.size() != shape.size()) throw Error("binary: shape and strides differ in rank");
  int64_t total = 1, spanA = 1, spanB = 1;
  for (size_t d = 0; d < shape.size(); d++) {
    total *= shape[d];
    spanA += (shape[d] - 1) * sa[d];
    spanB += (shape[d] - 1) * sb[d];
  }
  if (total == 0) return;
  if (op < kEqual) {
    float* o = args.f32(1, size_t(total));
    const float* a = args.f32(2, size_t(spanA));
    const float* b = args.f32(3, size_t(spanB));
    std::vector<int64_t> cs(shape), ca(sa), cb(sb);
    collapseDims(cs, ca, cb);
    if (op == kAdd && cs.size() == 1 && ca[0] == 1 && cb[0] == 1 && total >= kStreamElements) {
      parallel_for(total, kGrain, [&](int64_t b0, int64_t b1) { addStreaming(o + b0, a + b0, b + b0, b1 - b0); });
      return;
    }
    if (cs.size() == 2 && (ca[1] == 0 || ca[1] == 1) && (cb[1] == 0 || cb[1] == 1)) {
      int64_t rows = cs[0], n = cs[1];
      parallel_for(rows, std::max<int64_t>(1, kGrain / n),
                   [&](int64_t q0, int64_t q1) { floatRows(op, o, a, ca[0], ca[1], b, cb[0], cb[1], q0, q1, n); });
      return;
    }
    forEachRow(shape, sa, sb, [&](int64_t oo, int64_t oa, int64_t ob, int64_t ia, int64_t ib, int64_t n) {
      floatRow(op, o + oo, a + oa, ia, b + ob, ib, n);
    });
    return;
  }
  uint8_t* o = args.u8(1, size_t(total));
  size_t n;
  napi_typedarray_type type;
  args.raw(2, &n, &type);
  if (op >= kLogicalAnd || type == napi_uint8_array) {
    const uint8_t* a = args.u8(2, size_t(spanA));
    const uint8_t* b = args.u8(3, size_t(spanB));
    forEachRow(shape, sa, sb, [&](int64_t oo, int64_t oa, int64_t ob, int64_t ia, int64_t ib, int64_t len) {
      compareRow<uint8_t>(op, o + oo, a + oa, ia, b + ob, ib, len);
    });
  } else if (type == napi_int32_array) {
    const int32_t* a = args.i32(2, size_t(spanA));
    const int32_t* b = args.i32(3, size_t(spanB));
    forEachRow(shape, sa, sb, [&](int64_t oo, int64_t oa, int64_t ob, int64_t ia, int64_t ib, int64_t len) {
      compareRow<int32_t>(op, o + oo, a + oa, ia, b + ob, ib, len);
    });
  } else {
    const float* a = args.f32(2, size_t(spanA));
    const float* b = args.f32(3, size_t(spanB));
    forEachRow(shape, sa, sb, [&](int64_t oo, int64_t oa, int64_t ob, int64_t ia, int64_t ib, int64_t len) {
      compareRow<float>(op, o + oo, a + oa, ia, b + ob, ib, len);
    });
  }
}

}  // namespace clue
