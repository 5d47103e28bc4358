// AdamW (PyTorch's torch.optim.AdamW): one variable into new arrays (adamw), or every variable of
// a model in place in one call (adamwUpdate). Both evaluate the same expression per element, so
// they agree bit for bit.
#include <algorithm>
#include <vector>

#include "kernels.h"
#include "parallel.h"

// No fused multiply-add: every ISA clone (and the scalar remainder loops) rounds each product, as
// the per-variable kernel always did, so results are the same bit for bit on every machine.
#pragma GCC optimize("fp-contract=off")

namespace clue {

namespace {

/** A step's constants, from the hyper-parameters in double as PyTorch computes them. */
struct AdamWStep {
  float decay, c1, c2, b1, b2, ob1, ob2, lr, eps;

  /** Reads (lr, beta1, beta2, eps, weightDecay, step) from arguments first, first + 1, … */
  AdamWStep(const Args& args, size_t first) {
    double lr_ = args.number(first), b1_ = args.number(first + 1), b2_ = args.number(first + 2), eps_ = args.number(first + 3),
           wd = args.number(first + 4), t = args.number(first + 5);
    decay = float(1.0 - lr_ * wd);
    c1 = float(1.0 / (1.0 - std::pow(b1_, t)));
    c2 = float(1.0 / std::sqrt(1.0 - std::pow(b2_, t)));
    // 1 − β in double, then rounded, as PyTorch passes it: 1 − float(0.999) would be 4.7e-5 off.
    b1 = float(b1_);
    b2 = float(b2_);
    ob1 = float(1.0 - b1_);
    ob2 = float(1.0 - b2_);
    lr = float(lr_);
    eps = float(eps_);
  }

  // p ← p·(1 − lr·wd) − lr·m̂/(√v̂ + ε) with √v̂ + ε = √v·c2 + ε, PyTorch's order of operations.
  float param(float p, float m, float v) const { return p * decay - lr * (m * c1) / (std::sqrt(v) * c2 + eps); }
  float m1(float m, float g) const { return b1 * m + ob1 * g; }
  float v1(float v, float g) const { return b2 * v + ob2 * g * g; }
};

/** One variable's elements [0, n), updated in place. */
CLUE_HOT void updateSpan(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& s) {
  for (int64_t i = 0; i < n; i++) {
    float gi = g[i];
    float mi = s.m1(m[i], gi);
    float vi = s.v1(v[i], gi);
    float pi = s.param(p[i], mi, vi);
    m[i] = mi;
    v[i] = vi;
    p[i] = pi;
  }
}

/** Elements [0, n) of one variable into new arrays. */
CLUE_HOT void stepSpan(float* p1, float* m1, float* v1, const float* p, const float* g, const float* m, const float* v, int64_t n, const AdamWStep& s) {
  for (int64_t i = 0; i < n; i++) {
    float mi = s.m1(m[i], g[i]);
    float vi = s.v1(v[i], g[i]);
    m1[i] = mi;
    v1[i] = vi;
    p1[i] = s.param(p[i], mi, vi);
  }
}

}  // namespace

/**
 * adamw(param', m', v', param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step): one AdamW
 * step (PyTorch's): p ← p·(1 − lr·wd); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
 * p ← p − lr·m̂/(√v̂ + ε) with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ).
 */
void adamw(const Args& args) {
  size_t n = args.length(3);
  float* p1 = args.f32(0, n);
  float* m1 = args.f32(1, n);
  float* v1 = args.f32(2, n);
  const float* p = args.f32(3, n);
  const float* g = args.f32(4, n);
  const float* m = args.f32(5, n);
  const float* v = args.f32(6, n);
  AdamWStep s(args, 7);
  parallel_for(int64_t(n), kGrain, [&](int64_t i0, int64_t i1) {
    stepSpan(p1 + i0, m1 + i0, v1 + i0, p + i0, g + i0, m + i0, v + i0, i1 - i0, s);
  });
}

/**
 * adamwUpdate(lr, beta1, beta2, eps, weightDecay, step, param₀, grad₀, m₀, v₀, param₁, …): the
 * step of adamw for every variable, each param, m and v overwritten in place. The pool splits the
 * variables' concatenated elements, so a model's many small tensors cost one dispatch in all.
 * Every argument is checked before anything is written.
 */
void adamwUpdate(const Args& args) {
  constexpr size_t kFirst = 6;
  if (args.count() < kFirst || (args.count() - kFirst) % 4 != 0) {
    throw Error("adamwUpdate: needs the 6 hyper-parameters, then param, grad, m and v per variable");
  }
  AdamWStep s(args, 0);
  size_t vars = (args.count() - kFirst) / 4;
  std::vector<float*> p(vars), m(vars), v(vars);
  std::vector<const float*> g(vars);
  std::vector<int64_t> offsets(vars + 1, 0);
  for (size_t k = 0; k < vars; k++) {
    size_t at = kFirst + 4 * k, n = args.length(at);
    p[k] = args.f32(at);
    g[k] = args.f32(at + 1);
    m[k] = args.f32(at + 2);
    v[k] = args.f32(at + 3);
    if (args.length(at + 1) != n || args.length(at + 2) != n || args.length(at + 3) != n) {
      throw Error("adamwUpdate: variable " + std::to_string(k) + " has " + std::to_string(n) + " elements but its grad, m or v another count");
    }
    offsets[k + 1] = offsets[k] + int64_t(n);
  }
  parallel_for(offsets[vars], kGrain, [&](int64_t b, int64_t e) {
    // The last variable starting at or before b (zero-size ones share their offset with the next).
    size_t k = size_t(std::upper_bound(offsets.begin(), offsets.end(), b) - offsets.begin()) - 1;
    while (b < e) {
      int64_t end = std::min(e, offsets[k + 1]), at = b - offsets[k];
      updateSpan(p[k] + at, g[k] + at, m[k] + at, v[k] + at, end - b, s);
      b = end;
      k++;
    }
  });
}

}  // namespace clue
