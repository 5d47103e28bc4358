// Matrix products: dnnl_sgemm (oneDNN's JIT GEMM, row-major) with bias and activation applied in
// one pass over the result.
#include <dnnl.h>

#include "kernels.h"
#include "parallel.h"

namespace clue {

enum Activation { kLinear = 0, kRelu = 1, kRelu6 = 2, kSigmoid = 3, kLeakyRelu = 4, kElu = 5 };

CLUE_HOT static void epilogue(float* c, const float* bias, int64_t rows, int64_t n, int act, float alpha) {
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(n, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      float* row = c + r * n;
      if (bias) {
        for (int64_t j = 0; j < n; j++) row[j] += bias[j];
      }
      switch (act) {
        case kRelu:
          for (int64_t j = 0; j < n; j++) row[j] = row[j] < 0.0f ? 0.0f : row[j];
          break;
        case kRelu6:
          for (int64_t j = 0; j < n; j++) row[j] = std::min(std::max(row[j], 0.0f), 6.0f);
          break;
        case kSigmoid:
          for (int64_t j = 0; j < n; j++) row[j] = fsigmoid(row[j]);
          break;
        case kLeakyRelu:
          for (int64_t j = 0; j < n; j++) row[j] = row[j] < 0.0f ? alpha * row[j] : row[j];
          break;
        case kElu:
          for (int64_t j = 0; j < n; j++) row[j] = row[j] < 0.0f ? fexp(row[j]) - 1.0f : row[j];
          break;
        default:
          break;
      }
    }
  });
}

static dnnl_status_t sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c) {
  if (k == 0) {
    std::fill(c, c + m * n, 0.0f);
    return dnnl_success;
  }
  return dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.0f, a, ta ? m : k, b, tb ? k : n, 0.0f, c, n);
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
  double flops = 2.0 * double(m) * double(n) * double(k);
  int nt = omp_get_max_threads();
  dnnl_status_t status = dnnl_success;
  if (batch >= 2 * nt && flops < 8e6 && !omp_in_parallel()) {
    // Many small products: one product per task, each GEMM on one thread (no throwing in here).
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int64_t i = 0; i < batch; i++) {
      dnnl_status_t s = sgemm(ta, tb, m, n, k, a + i * sa, b + i * sb, out + i * m * n);
      if (s != dnnl_success) status = s;
    }
  } else {
    for (int64_t i = 0; i < batch && status == dnnl_success; i++) status = sgemm(ta, tb, m, n, k, a + i * sa, b + i * sb, out + i * m * n);
  }
  if (status != dnnl_success) throw Error("dnnl_sgemm failed with status " + std::to_string(int(status)));
  if (bias || act != kLinear) epilogue(out, bias, batch * m, n, act, alpha);
}

}  // namespace clue
