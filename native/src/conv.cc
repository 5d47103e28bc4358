// Convolutions (dense and depthwise, forward and both gradients) and 2-D pooling on oneDNN,
// working in place on NHWC activations and TensorFlow's HWIO / HWCM filter layouts. The batch is
// cut into sub-batches run by the pool, each primitive on one thread; weight gradients are summed
// over sub-batches. Primitive descriptors, primitives and weight layouts are cached per shape: a
// training step repeats the same few shapes.
#include <dnnl.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "conv_common.h"
#include "kernels.h"
#include "parallel.h"

namespace clue {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

static dnnl::engine& cpuEngine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

/** A stream and a scratchpad per thread: chunks run primitives concurrently. */
static dnnl::stream& threadStream() {
  thread_local dnnl::stream s(cpuEngine());
  return s;
}
static void* scratch(size_t bytes) {
  thread_local std::vector<uint8_t> buf;
  if (buf.size() < bytes) buf.resize(bytes);
  return buf.data();
}

static dnnl::primitive_attr userScratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

/** NHWC activations as oneDNN's logical (n, c, h, w) dims with explicit strides. */
static memory::desc nhwc(int64_t n, int64_t h, int64_t w, int64_t c) {
  return memory::desc({n, c, h, w}, dt::f32, memory::dims{h * w * c, 1, w * c, c});
}

/**
 * TensorFlow filters: dense [fh, fw, ci, co] as (o, i, kh, kw); depthwise [fh, fw, c, m] as
 * grouped (g=c, o=m, i=1, kh, kw).
 */
static memory::desc filterDesc(int64_t fh, int64_t fw, int64_t ci, int64_t co, int64_t groups) {
  if (groups == 1) return memory::desc({co, ci, fh, fw}, dt::f32, memory::dims{1, co, fw * ci * co, ci * co});
  int64_t m = co / groups;
  return memory::desc({groups, m, ci / groups, fh, fw}, dt::f32, memory::dims{m, 1, co, fw * ci * m, ci * m});
}

static memory::desc anyFilterDesc(int64_t fh, int64_t fw, int64_t ci, int64_t co, int64_t groups) {
  if (groups == 1) return memory::desc({co, ci, fh, fw}, dt::f32, tag::any);
  return memory::desc({groups, co / groups, ci / groups, fh, fw}, dt::f32, tag::any);
}

struct ConvPlan {
  dnnl::primitive prim;
  memory::desc src, dst, userW, primW, scratchpad;
  bool reorderW = false;
  dnnl::reorder toPrim, toUser;  // user → primitive layout (fwd, bwd data); primitive → user (bwd weights)
};

using namespace conv_common;

static std::mutex planMutex;
static std::map<std::vector<int64_t>, std::unique_ptr<ConvPlan>> convPlans;

/** The plan for `mode` at batch size `n` (the other parameters from p); a forward plan may add a bias. */
static ConvPlan& convPlan(int mode, const std::vector<int64_t>& p, int64_t n, bool withBias = false) {
  std::vector<int64_t> key(p);
  key[P_N] = n;
  key.push_back(mode);
  key.push_back(withBias);
  std::lock_guard<std::mutex> lock(planMutex);
  auto it = convPlans.find(key);
  if (it != convPlans.end()) return *it->second;
  int64_t h = p[P_H], w = p[P_W], ci = p[P_CI], ho = p[P_HO], wo = p[P_WO], co = p[P_CO], fh = p[P_FH], fw = p[P_FW], groups = p[P_G];
  auto& eng = cpuEngine();
  auto plan = std::make_unique<ConvPlan>();
  plan->src = nhwc(n, h, w, ci);
  plan->dst = nhwc(n, ho, wo, co);
  plan->userW = filterDesc(fh, fw, ci, co, groups);
  memory::desc anyW = anyFilterDesc(fh, fw, ci, co, groups);
  memory::dims strides{p[P_SH], p[P_SW]}, dil{p[P_DH] - 1, p[P_DW] - 1}, padL{p[P_PT], p[P_PL]}, padR{p[P_PB], p[P_PR]};
  auto attr = userScratchpad();
  dnnl::convolution_forward::desc fd(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, plan->src, anyW, plan->dst,
                                     strides, dil, padL, padR);
  dnnl::convolution_forward::primitive_desc fpd(fd, attr, eng);
  if (mode == kForward && withBias) {
    // oneDNN adds the bias in the convolution's epilogue, while the output is in registers.
    dnnl::convolution_forward::desc bfd(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, plan->src, anyW,
                                        memory::desc({co}, dt::f32, tag::x), plan->dst, strides, dil, padL, padR);
    dnnl::convolution_forward::primitive_desc bpd(bfd, attr, eng);
    plan->prim = dnnl::convolution_forward(bpd);
    plan->primW = bpd.weights_desc();
    plan->scratchpad = bpd.scratchpad_desc();
  } else if (mode == kForward) {
    plan->prim = dnnl::convolution_forward(fpd);
    plan->primW = fpd.weights_desc();
    plan->scratchpad = fpd.scratchpad_desc();
  } else if (mode == kBackwardData) {
    dnnl::convolution_backward_data::desc bd(dnnl::algorithm::convolution_direct, plan->src, anyW, plan->dst, strides, dil, padL, padR);
    dnnl::convolution_backward_data::primitive_desc bpd(bd, attr, eng, fpd);
    plan->prim = dnnl::convolution_backward_data(bpd);
    plan->primW = bpd.weights_desc();
    plan->scratchpad = bpd.scratchpad_desc();
  } else {
    dnnl::convolution_backward_weights::desc bd(dnnl::algorithm::convolution_direct, plan->src, anyW, plan->dst, strides, dil, padL, padR);
    dnnl::convolution_backward_weights::primitive_desc bpd(bd, attr, eng, fpd);
    plan->prim = dnnl::convolution_backward_weights(bpd);
    plan->primW = bpd.diff_weights_desc();
    plan->scratchpad = bpd.scratchpad_desc();
  }
  plan->reorderW = plan->primW != plan->userW;
  if (plan->reorderW) {
    memory u(plan->userW, eng, nullptr), q(plan->primW, eng, nullptr);
    if (mode == kBackwardWeights) plan->toUser = dnnl::reorder(q, u);
    else plan->toPrim = dnnl::reorder(u, q);
  }
  auto& ref = *plan;
  convPlans.emplace(std::move(key), std::move(plan));
  return ref;
}

/** Sub-batches worth running in parallel: at least ~2 M multiply-adds each. */
static int64_t batchChunks(int64_t n, double macsPerImage) {
  int64_t byWork = int64_t(macsPerImage * double(n) / double(1 << 21));
  return std::max<int64_t>(1, std::min<int64_t>({n, 2 * int64_t(poolThreads()), std::max<int64_t>(byWork, 1)}));
}

/** The distinct sub-batch sizes `chunks` pieces of n give (the pool cuts n·i/chunks). */
static std::vector<int64_t> pieceSizes(int64_t n, int64_t chunks) {
  std::vector<int64_t> sizes;
  for (int64_t i = 0; i < chunks; i++) {
    int64_t s = n * (i + 1) / chunks - n * i / chunks;
    if (std::find(sizes.begin(), sizes.end(), s) == sizes.end()) sizes.push_back(s);
  }
  return sizes;
}

/**
 * conv(mode, out, in1, in2, params, bias|null): params = [n, h, w, ci, ho, wo, co, fh, fw, sh, sw,
 * dh, dw, padTop, padLeft, padBottom, padRight, groups]. Mode 0: out = y from (x, filter), plus
 * the bias [co] if given; 1: out = dx
 * from (dy, filter); 2: out = dFilter from (x, dy). groups = ci makes it depthwise (co = ci·m).
 */
void conv(const Args& args) {
  int mode = int(args.integer(0));
  std::vector<int64_t> p = args.ints(4);
  if (p.size() != P_COUNT) throw Error("conv: expected 18 parameters");
  int64_t n = p[P_N], h = p[P_H], w = p[P_W], ci = p[P_CI], ho = p[P_HO], wo = p[P_WO], co = p[P_CO], groups = p[P_G];
  int64_t xImage = h * w * ci, yImage = ho * wo * co;
  size_t wSize = size_t(p[P_FH] * p[P_FW] * ci * co / groups);
  double macsPerImage = double(yImage) * double(p[P_FH] * p[P_FW] * ci / groups);
  int64_t chunks = batchChunks(n, macsPerImage);
  std::vector<int64_t> sizes = pieceSizes(n, chunks);
  auto& eng = cpuEngine();
  const float *x = nullptr, *dy = nullptr, *filter = nullptr, *bias = nullptr;
  float *y = nullptr, *dx = nullptr, *dW = nullptr;
  if (mode == kForward) {
    y = args.f32(1, size_t(n * yImage));
    x = args.f32(2, size_t(n * xImage));
    filter = args.f32(3, wSize);
    bias = args.count() > 5 && !args.isNull(5) ? args.f32(5, size_t(co)) : nullptr;
  } else if (mode == kBackwardData) {
    dx = args.f32(1, size_t(n * xImage));
    dy = args.f32(2, size_t(n * yImage));
    filter = args.f32(3, wSize);
  } else if (mode == kBackwardWeights) {
    dW = args.f32(1, wSize);
    x = args.f32(2, size_t(n * xImage));
    dy = args.f32(3, size_t(n * yImage));
  } else {
    throw Error("conv: unknown mode " + std::to_string(mode));
  }
  // Every sub-batch size has its plan; forward and data-gradient plans get the filter in their layout first.
  std::map<int64_t, ConvPlan*> plans;
  std::map<int64_t, std::vector<float>> filters;
  for (int64_t s : sizes) {
    ConvPlan& plan = convPlan(mode, p, s, bias != nullptr);
    plans[s] = &plan;
    if (mode != kBackwardWeights && plan.reorderW) {
      auto& buf = filters[s];
      buf.resize(plan.primW.get_size() / sizeof(float) + 16);
      memory u(plan.userW, eng, const_cast<float*>(filter)), q(plan.primW, eng, buf.data());
      plan.toPrim.execute(threadStream(), u, q);
      threadStream().wait();
    }
  }
  std::vector<float> partials(mode == kBackwardWeights ? size_t(chunks) * wSize : 0);
  parallel_chunks(n, chunks, [&](int64_t b0, int64_t b1, int64_t i) {
    int64_t s = b1 - b0;
    ConvPlan& plan = *plans.at(s);
    auto& stream = threadStream();
    memory pad(plan.scratchpad, eng, scratch(plan.scratchpad.get_size()));
    if (mode == kBackwardWeights) {
      memory src(plan.src, eng, const_cast<float*>(x + b0 * xImage)), ddst(plan.dst, eng, const_cast<float*>(dy + b0 * yImage));
      float* part = partials.data() + i * int64_t(wSize);
      memory user(plan.userW, eng, part);
      std::vector<float> blocked(plan.reorderW ? plan.primW.get_size() / sizeof(float) + 16 : 0);
      memory dw = plan.reorderW ? memory(plan.primW, eng, blocked.data()) : user;
      plan.prim.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, dw}, {DNNL_ARG_SCRATCHPAD, pad}});
      if (plan.reorderW) plan.toUser.execute(stream, dw, user);
      stream.wait();
      return;
    }
    float* wp = plan.reorderW ? filters.at(s).data() : const_cast<float*>(filter);
    memory weights(plan.reorderW ? plan.primW : plan.userW, eng, wp);
    if (mode == kForward) {
      memory src(plan.src, eng, const_cast<float*>(x + b0 * xImage)), dst(plan.dst, eng, y + b0 * yImage);
      std::unordered_map<int, memory> margs{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCRATCHPAD, pad}};
      if (bias) margs.emplace(DNNL_ARG_BIAS, memory(memory::desc({co}, dt::f32, tag::x), eng, const_cast<float*>(bias)));
      plan.prim.execute(stream, margs);
    } else {
      memory dsrc(plan.src, eng, dx + b0 * xImage), ddst(plan.dst, eng, const_cast<float*>(dy + b0 * yImage));
      plan.prim.execute(stream, {{DNNL_ARG_DIFF_SRC, dsrc}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_SCRATCHPAD, pad}});
    }
    stream.wait();
  });
  if (mode == kBackwardWeights) {
    // Sub-batch gradients summed in chunk order: the same result whichever thread ran which.
    parallel_for(int64_t(wSize), kGrain, [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; j++) {
        float s = 0.0f;
        for (int64_t i = 0; i < chunks; i++) s += partials[size_t(i) * wSize + size_t(j)];
        dW[j] = s;
      }
    });
  }
}

struct PoolPlan {
  dnnl::pooling_forward fwd;
  dnnl::pooling_backward bwd;
  memory::desc src, dst, ws, fwdScratch, bwdScratch;
  bool hasWs = false;
};
static std::map<std::vector<int64_t>, std::unique_ptr<PoolPlan>> poolPlans;

enum PoolMode { kMaxForward = 0, kAvgForward = 1, kMaxBackward = 2, kAvgBackward = 3 };

static PoolPlan& poolPlan(int mode, const std::vector<int64_t>& p, int64_t n) {
  std::vector<int64_t> key(p);
  key[0] = n;
  key.push_back(mode);
  std::lock_guard<std::mutex> lock(planMutex);
  auto it = poolPlans.find(key);
  if (it != poolPlans.end()) return *it->second;
  int64_t h = p[1], w = p[2], c = p[3], ho = p[4], wo = p[5], fh = p[6], fw = p[7];
  memory::dims strides{p[8], p[9]}, kernel{fh, fw}, padL{p[10], p[11]}, padR{p[12], p[13]};
  bool isMax = mode == kMaxForward || mode == kMaxBackward;
  bool backward = mode == kMaxBackward || mode == kAvgBackward;
  auto alg = isMax ? dnnl::algorithm::pooling_max : dnnl::algorithm::pooling_avg_exclude_padding;
  auto plan = std::make_unique<PoolPlan>();
  plan->src = nhwc(n, h, w, c);
  plan->dst = nhwc(n, ho, wo, c);
  auto attr = userScratchpad();
  auto prop = backward ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  dnnl::pooling_forward::desc fd(prop, alg, plan->src, plan->dst, strides, kernel, padL, padR);
  dnnl::pooling_forward::primitive_desc fpd(fd, attr, cpuEngine());
  plan->fwd = dnnl::pooling_forward(fpd);
  plan->fwdScratch = fpd.scratchpad_desc();
  if (backward) {
    dnnl::pooling_backward::desc bd(alg, plan->src, plan->dst, strides, kernel, padL, padR);
    dnnl::pooling_backward::primitive_desc bpd(bd, attr, cpuEngine(), fpd);
    plan->bwd = dnnl::pooling_backward(bpd);
    plan->bwdScratch = bpd.scratchpad_desc();
    plan->ws = fpd.workspace_desc();
    plan->hasWs = isMax && plan->ws.get_size() > 0;
  }
  auto& ref = *plan;
  poolPlans.emplace(std::move(key), std::move(plan));
  return ref;
}

/**
 * pool(mode, out, in1, in2|null, params): params = [n, h, w, c, ho, wo, fh, fw, sh, sw, padTop,
 * padLeft, padBottom, padRight]. Modes: 0 max and 1 average forward (out = y from x); 2 max
 * gradient (out = dx from x, dy; the forward is recomputed for its argmax workspace); 3 average
 * gradient (out = dx from dy). Average pooling divides by the window's in-bounds count.
 */
void pool(const Args& args) {
  int mode = int(args.integer(0));
  std::vector<int64_t> p = args.ints(4);
  if (p.size() != 14) throw Error("pool: expected 14 parameters");
  if (mode < kMaxForward || mode > kAvgBackward) throw Error("pool: unknown mode " + std::to_string(mode));
  int64_t n = p[0], h = p[1], w = p[2], c = p[3], ho = p[4], wo = p[5];
  int64_t xImage = h * w * c, yImage = ho * wo * c;
  float* out = args.f32(1, size_t(n * (mode == kMaxForward || mode == kAvgForward ? yImage : xImage)));
  const float* in1 = args.f32(2, size_t(n * (mode == kMaxForward || mode == kAvgForward || mode == kMaxBackward ? xImage : yImage)));
  const float* in2 = mode == kMaxBackward ? args.f32(3, size_t(n * yImage)) : nullptr;
  int64_t chunks = batchChunks(n, double(xImage) * 2.0);
  std::map<int64_t, PoolPlan*> plans;
  for (int64_t s : pieceSizes(n, chunks)) plans[s] = &poolPlan(mode, p, s);
  auto& eng = cpuEngine();
  parallel_chunks(n, chunks, [&](int64_t b0, int64_t b1, int64_t) {
    PoolPlan& plan = *plans.at(b1 - b0);
    auto& stream = threadStream();
    if (mode == kMaxForward || mode == kAvgForward) {
      memory src(plan.src, eng, const_cast<float*>(in1 + b0 * xImage)), dst(plan.dst, eng, out + b0 * yImage);
      memory pad(plan.fwdScratch, eng, scratch(plan.fwdScratch.get_size()));
      plan.fwd.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCRATCHPAD, pad}});
    } else if (mode == kMaxBackward) {
      memory x(plan.src, eng, const_cast<float*>(in1 + b0 * xImage)), dsrc(plan.src, eng, out + b0 * xImage);
      memory ddst(plan.dst, eng, const_cast<float*>(in2 + b0 * yImage));
      std::vector<float> y(size_t((b1 - b0) * yImage));
      std::vector<uint8_t> wsBuf(plan.hasWs ? plan.ws.get_size() : 0);
      memory ws(plan.ws, eng, wsBuf.data()), dst(plan.dst, eng, y.data());
      memory fpad(plan.fwdScratch, eng, scratch(std::max(plan.fwdScratch.get_size(), plan.bwdScratch.get_size())));
      plan.fwd.execute(stream, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, dst}, {DNNL_ARG_WORKSPACE, ws}, {DNNL_ARG_SCRATCHPAD, fpad}});
      memory bpad(plan.bwdScratch, eng, fpad.get_data_handle());
      plan.bwd.execute(stream, {{DNNL_ARG_DIFF_SRC, dsrc}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WORKSPACE, ws}, {DNNL_ARG_SCRATCHPAD, bpad}});
    } else {
      memory dsrc(plan.src, eng, out + b0 * xImage), ddst(plan.dst, eng, const_cast<float*>(in1 + b0 * yImage));
      memory pad(plan.bwdScratch, eng, scratch(plan.bwdScratch.get_size()));
      plan.bwd.execute(stream, {{DNNL_ARG_DIFF_SRC, dsrc}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_SCRATCHPAD, pad}});
    }
    stream.wait();
  });
}

}  // namespace clue
