// Data movement: one strided copy serves transpose, slice, strided slice, pad, concat, tile,
// reverse and broadcast; plus fill, cast, one-hot, gather, segment sum, select and addN.
#include <vector>

#include "kernels.h"
#include "parallel.h"
#include "strides.h"

namespace clue {

static void* bytes(const Args& args, size_t i, size_t* count, size_t* elemSize) {
  napi_typedarray_type type;
  void* p = args.raw(i, count, &type);
  switch (type) {
    case napi_float32_array: case napi_int32_array: case napi_uint32_array: *elemSize = 4; break;
    case napi_uint8_array: case napi_int8_array: case napi_uint8_clamped_array: *elemSize = 1; break;
    case napi_int16_array: case napi_uint16_array: *elemSize = 2; break;
    default: *elemSize = 8; break;
  }
  return p;
}

/** Axes a strided copy handles after merging contiguous ones (tfjs tensors have at most 6, tile doubles them). */
constexpr int64_t kMaxCopyRank = 16;

/**
 * copyStrided(out, in, shape, outStrides, inStrides, outOffset, inOffset): for every index i of
 * `shape`, out[outOffset + i·outStrides] = in[inOffset + i·inStrides] (element strides; input
 * strides may be 0 to broadcast or negative to reverse). Both arrays have the same element type.
 */
void copyStrided(const Args& args) {
  size_t outN, inN, es, es2;
  char* out = static_cast<char*>(bytes(args, 0, &outN, &es));
  const char* in = static_cast<const char*>(bytes(args, 1, &inN, &es2));
  if (es != es2) throw Error("copyStrided: element types differ");
  std::vector<int64_t> shape = args.ints(2), so = args.ints(3), si = args.ints(4);
  int64_t oo = args.integer(5), io = args.integer(6);
  size_t r0 = shape.size();
  if (so.size() != r0 || si.size() != r0) throw Error("copyStrided: ranks differ");
  // Bounds: every touched element must lie inside both arrays.
  int64_t oLo = oo, oHi = oo, iLo = io, iHi = io, total = 1;
  for (size_t d = 0; d < r0; d++) {
    if (shape[d] == 0) return;
    total *= shape[d];
    int64_t eo = (shape[d] - 1) * so[d], ei = (shape[d] - 1) * si[d];
    (eo < 0 ? oLo : oHi) += eo;
    (ei < 0 ? iLo : iHi) += ei;
  }
  if (oLo < 0 || oHi >= int64_t(outN) || iLo < 0 || iHi >= int64_t(inN)) throw Error("copyStrided: index out of bounds");
  std::vector<int64_t> sh(shape), ao(so), ai(si);
  collapseDims(sh, ao, ai);
  int64_t r = int64_t(sh.size());
  if (r > kMaxCopyRank) throw Error("copyStrided: more than " + std::to_string(kMaxCopyRank) + " axes after merging contiguous ones");
  int64_t inner = sh[r - 1], iso = ao[r - 1], isi = ai[r - 1];
  int64_t rows = total / inner;
  parallel_for(rows, std::max<int64_t>(1, kGrain / inner), [&](int64_t q0, int64_t q1) {
    // The row's index over the outer axes, found once per chunk and then counted up like an
    // odometer: a division per axis per row costs more than copying a short row.
    int64_t idx[kMaxCopyRank] = {0}, po = oo, pi = io;
    for (int64_t d = r - 2, rem = q0; d >= 0; d--) {
      idx[d] = rem % sh[d];
      rem /= sh[d];
      po += idx[d] * ao[d];
      pi += idx[d] * ai[d];
    }
    for (int64_t q = q0; q < q1; q++) {
      if (q > q0) {
        for (int64_t d = r - 2; d >= 0; d--) {
          po += ao[d];
          pi += ai[d];
          if (++idx[d] < sh[d]) break;
          po -= sh[d] * ao[d];
          pi -= sh[d] * ai[d];
          idx[d] = 0;
        }
      }
      if (iso == 1 && isi == 1) {
        std::memcpy(out + po * int64_t(es), in + pi * int64_t(es), size_t(inner) * es);
      } else if (es == 4) {
        int32_t* o = reinterpret_cast<int32_t*>(out) + po;
        const int32_t* s = reinterpret_cast<const int32_t*>(in) + pi;
        for (int64_t j = 0; j < inner; j++) o[j * iso] = s[j * isi];
      } else if (es == 1) {
        for (int64_t j = 0; j < inner; j++) out[po + j * iso] = in[pi + j * isi];
      } else {
        for (int64_t j = 0; j < inner; j++) std::memcpy(out + (po + j * iso) * int64_t(es), in + (pi + j * isi) * int64_t(es), es);
      }
    }
  });
}

/** fill(out, value): every element of a Float32Array, Int32Array or Uint8Array. */
void fill(const Args& args) {
  size_t n;
  napi_typedarray_type type;
  void* p = args.raw(0, &n, &type);
  double v = args.number(1);
  parallel_for(int64_t(n), kGrain * 4, [&](int64_t b, int64_t e) {
    if (type == napi_float32_array) std::fill(static_cast<float*>(p) + b, static_cast<float*>(p) + e, float(v));
    else if (type == napi_int32_array) std::fill(static_cast<int32_t*>(p) + b, static_cast<int32_t*>(p) + e, int32_t(v));
    else if (type == napi_uint8_array) std::fill(static_cast<uint8_t*>(p) + b, static_cast<uint8_t*>(p) + e, uint8_t(v != 0));
  });
}

/** JavaScript's ToInt32 of a float: truncation, NaN and ±inf to 0, wrapping modulo 2^32. */
static inline int32_t toInt32(float v) {
  if (!(std::fabs(v) < 2147483648.0f)) {
    if (v != v || std::isinf(v)) return 0;
    double m = std::fmod(std::trunc(double(v)), 4294967296.0);
    if (m < 0) m += 4294967296.0;
    return int32_t(uint32_t(m));
  }
  return int32_t(v);
}

/** cast(out, x): between Float32Array, Int32Array and Uint8Array (bool: nonzero → 1), as tfjs. */
void cast(const Args& args) {
  size_t n, m;
  napi_typedarray_type to, from;
  void* o = args.raw(0, &n, &to);
  const void* x = args.raw(1, &m, &from);
  if (n != m) throw Error("cast: sizes differ");
  parallel_for(int64_t(n), kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      double v = from == napi_float32_array ? double(static_cast<const float*>(x)[i])
                 : from == napi_int32_array ? double(static_cast<const int32_t*>(x)[i])
                                            : double(static_cast<const uint8_t*>(x)[i]);
      if (to == napi_float32_array) static_cast<float*>(o)[i] = float(v);
      else if (to == napi_int32_array) static_cast<int32_t*>(o)[i] = from == napi_float32_array ? toInt32(float(v)) : int32_t(v);
      else static_cast<uint8_t*>(o)[i] = v != 0.0;
    }
  });
}

/** oneHot(out, indices, depth, on, off): out[i, d] = d == indices[i] ? on : off (Float32Array or Int32Array out). */
void oneHot(const Args& args) {
  size_t n = args.length(1);
  int64_t depth = args.integer(2);
  double on = args.number(3), off = args.number(4);
  size_t outN;
  napi_typedarray_type type;
  void* out = args.raw(0, &outN, &type);
  if (outN < n * size_t(depth)) throw Error("oneHot: output too small");
  if (type != napi_float32_array && type != napi_int32_array) throw Error("oneHot: output must be a Float32Array or an Int32Array");
  const int32_t* idx = args.i32(1);
  parallel_for(int64_t(n), std::max<int64_t>(1, kGrain / std::max<int64_t>(depth, 1)), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      bool hit = idx[i] >= 0 && idx[i] < depth;
      if (type == napi_float32_array) {
        float* row = static_cast<float*>(out) + i * depth;
        std::fill(row, row + depth, float(off));
        if (hit) row[idx[i]] = float(on);
      } else {
        int32_t* row = static_cast<int32_t*>(out) + i * depth;
        std::fill(row, row + depth, int32_t(off));
        if (hit) row[idx[i]] = int32_t(on);
      }
    }
  });
}

/**
 * gather(out, x, indices, outer, axisLength, inner): out[o, j, :] = x[o, indices[j], :] for 4-byte
 * elements (float32 or int32). An index outside [0, axisLength) is an error naming it.
 */
void gather(const Args& args) {
  size_t nOut, nX, es, es2;
  char* out = static_cast<char*>(bytes(args, 0, &nOut, &es));
  const char* x = static_cast<const char*>(bytes(args, 1, &nX, &es2));
  size_t nIdx = args.length(2);
  const int32_t* idx = args.i32(2);
  int64_t outer = args.integer(3), axis = args.integer(4), inner = args.integer(5);
  if (es != es2) throw Error("gather: element types differ");
  if (nOut < size_t(outer) * nIdx * size_t(inner) || nX < size_t(outer * axis * inner)) throw Error("gather: arrays too small");
  for (size_t j = 0; j < nIdx; j++) {
    if (idx[j] < 0 || idx[j] >= axis) {
      throw Error("GatherV2: the index value " + std::to_string(idx[j]) + " is not in [0, " + std::to_string(axis - 1) + "]");
    }
  }
  int64_t rows = outer * int64_t(nIdx);
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1)), [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; q++) {
      int64_t o = q / int64_t(nIdx), j = q % int64_t(nIdx);
      std::memcpy(out + q * inner * int64_t(es), x + (o * axis + idx[j]) * inner * int64_t(es), size_t(inner) * es);
    }
  });
}

CLUE_HOT static void addRows(float* out, const float* x, const int32_t* ids, size_t n, int64_t s0, int64_t s1, int64_t inner) {
  for (size_t r = 0; r < n; r++) {
    int64_t s = ids[r];
    if (s < s0 || s >= s1) continue;
    const float* src = x + int64_t(r) * inner;
    float* dst = out + s * inner;
    for (int64_t c = 0; c < inner; c++) dst[c] += src[c];
  }
}

/**
 * segmentSum(out, x, ids, numSegments, inner): out[s, :] = Σ over rows r with ids[r] = s of
 * x[r, :]; ids outside [0, numSegments) contribute nothing.
 */
void segmentSum(const Args& args) {
  size_t n = args.length(2);
  int64_t segments = args.integer(3), inner = args.integer(4);
  float* out = args.f32(0, size_t(segments * inner));
  const float* x = args.f32(1, n * size_t(inner));
  const int32_t* ids = args.i32(2);
  // Each chunk owns a range of segments (no write races) and scans every id, adding only its own
  // rows: every row is read once, whole, and each segment sums its rows in order.
  int64_t work = int64_t(n) * inner;
  int64_t chunks = work < kGrain || inPool() ? 1 : std::min<int64_t>(segments, 2 * poolThreads());
  parallel_chunks(segments, chunks, [&](int64_t s0, int64_t s1, int64_t) {
    std::fill(out + s0 * inner, out + s1 * inner, 0.0f);
    addRows(out, x, ids, n, s0, s1, inner);
  });
}

/**
 * select(out, condition, a, b, inner): out[i] = condition[i / inner] ? a[i] : b[i] (inner = 1 for
 * an elementwise condition, or the row size for a rank-1 condition over the first axis).
 */
void select(const Args& args) {
  size_t n = args.length(2);
  int64_t inner = args.integer(4);
  size_t es, es2, es3, nOut, nB;
  char* out = static_cast<char*>(bytes(args, 0, &nOut, &es));
  const uint8_t* cond = args.u8(1, n / size_t(inner));
  const char* a = static_cast<const char*>(bytes(args, 2, &n, &es2));
  const char* b = static_cast<const char*>(bytes(args, 3, &nB, &es3));
  if (es != es2 || es != es3 || nOut < n || nB < n) throw Error("select: operands differ");
  parallel_for(int64_t(n), kGrain, [&](int64_t i0, int64_t i1) {
    if (es == 4) {
      int32_t* o = reinterpret_cast<int32_t*>(out);
      const int32_t* pa = reinterpret_cast<const int32_t*>(a);
      const int32_t* pb = reinterpret_cast<const int32_t*>(b);
      for (int64_t i = i0; i < i1; i++) o[i] = cond[i / inner] ? pa[i] : pb[i];
    } else {
      for (int64_t i = i0; i < i1; i++) std::memcpy(out + i * int64_t(es), (cond[i / inner] ? a : b) + i * int64_t(es), es);
    }
  });
}

/** addN(out, x0, x1, …): elementwise sum of Float32Arrays of equal length. */
void addN(const Args& args) {
  size_t n = args.length(0);
  float* out = args.f32(0, n);
  std::vector<const float*> xs;
  for (size_t i = 1; i < args.count(); i++) xs.push_back(args.f32(i, n));
  parallel_for(int64_t(n), kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      float s = 0.0f;
      for (const float* x : xs) s += x[i];
      out[i] = s;
    }
  });
}

}  // namespace clue
