// Convolutions (dense and depthwise, forward and both gradients) and 2-D pooling on oneDNN,
// working in place on NHWC activations and TensorFlow's HWIO / HWCM filter layouts. Primitive
// descriptors, primitives and weight reorders are cached per shape: a training step repeats the
// same few shapes.
#include <dnnl.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <vector>

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
static dnnl::stream& cpuStream() {
  static dnnl::stream s(cpuEngine());
  return s;
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
  memory::desc userW, primW;
  bool reorderW = false;
  dnnl::reorder toPrim, toUser;  // user → primitive layout (fwd, bwd data); primitive → user (bwd weights)
  std::vector<float> wbuf;
};

enum ConvMode { kForward = 0, kBackwardData = 1, kBackwardWeights = 2 };

static std::mutex planMutex;
static std::map<std::vector<int64_t>, std::unique_ptr<ConvPlan>> convPlans;

static ConvPlan& convPlan(int mode, const std::vector<int64_t>& p) {
  std::vector<int64_t> key(p);
  key.push_back(mode);
  std::lock_guard<std::mutex> lock(planMutex);
  auto it = convPlans.find(key);
  if (it != convPlans.end()) return *it->second;
  int64_t n = p[0], h = p[1], w = p[2], ci = p[3], ho = p[4], wo = p[5], co = p[6], fh = p[7], fw = p[8];
  int64_t sh = p[9], sw = p[10], dh = p[11], dw = p[12], pt = p[13], pl = p[14], pb = p[15], pr = p[16], groups = p[17];
  auto& eng = cpuEngine();
  memory::desc src = nhwc(n, h, w, ci), dst = nhwc(n, ho, wo, co);
  memory::desc anyW = anyFilterDesc(fh, fw, ci, co, groups);
  memory::dims strides{sh, sw}, dil{dh - 1, dw - 1}, padL{pt, pl}, padR{pb, pr};
  dnnl::convolution_forward::desc fd(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src, anyW, dst, strides,
                                     dil, padL, padR);
  dnnl::convolution_forward::primitive_desc fpd(fd, eng);
  auto plan = std::make_unique<ConvPlan>();
  plan->userW = filterDesc(fh, fw, ci, co, groups);
  if (mode == kForward) {
    plan->prim = dnnl::convolution_forward(fpd);
    plan->primW = fpd.weights_desc();
  } else if (mode == kBackwardData) {
    dnnl::convolution_backward_data::desc bd(dnnl::algorithm::convolution_direct, src, anyW, dst, strides, dil, padL, padR);
    dnnl::convolution_backward_data::primitive_desc bpd(bd, eng, fpd);
    plan->prim = dnnl::convolution_backward_data(bpd);
    plan->primW = bpd.weights_desc();
  } else {
    dnnl::convolution_backward_weights::desc bd(dnnl::algorithm::convolution_direct, src, anyW, dst, strides, dil, padL, padR);
    dnnl::convolution_backward_weights::primitive_desc bpd(bd, eng, fpd);
    plan->prim = dnnl::convolution_backward_weights(bpd);
    plan->primW = bpd.diff_weights_desc();
  }
  plan->reorderW = plan->primW != plan->userW;
  if (plan->reorderW) {
    plan->wbuf.resize(plan->primW.get_size() / sizeof(float) + 16);
    memory u(plan->userW, eng, nullptr), q(plan->primW, eng, nullptr);
    if (mode == kBackwardWeights) {
      plan->toUser = dnnl::reorder(q, u);
    } else {
      plan->toPrim = dnnl::reorder(u, q);
    }
  }
  auto& ref = *plan;
  convPlans.emplace(std::move(key), std::move(plan));
  return ref;
}

/**
 * conv(mode, out, in1, in2, params): params = [n, h, w, ci, ho, wo, co, fh, fw, sh, sw, dh, dw,
 * padTop, padLeft, padBottom, padRight, groups]. Mode 0: out = y from (x, filter); 1: out = dx
 * from (dy, filter); 2: out = dFilter from (x, dy). groups = ci makes it depthwise (co = ci·m).
 */
void conv(const Args& args) {
  int mode = int(args.integer(0));
  std::vector<int64_t> p = args.ints(4);
  if (p.size() != 18) throw Error("conv: expected 18 parameters");
  int64_t n = p[0], h = p[1], w = p[2], ci = p[3], ho = p[4], wo = p[5], co = p[6], fh = p[7], fw = p[8];
  size_t xSize = size_t(n * h * w * ci), ySize = size_t(n * ho * wo * co), wSize = size_t(fh * fw * ci * co / p[17]);
  ConvPlan& plan = convPlan(mode, p);
  auto& eng = cpuEngine();
  auto& s = cpuStream();
  memory src(nhwc(n, h, w, ci), eng, nullptr), dst(nhwc(n, ho, wo, co), eng, nullptr);
  memory userW(plan.userW, eng, nullptr);
  memory primW = plan.reorderW ? memory(plan.primW, eng, plan.wbuf.data()) : userW;
  if (mode == kForward) {
    float* y = args.f32(1, ySize);
    src.set_data_handle(args.f32(2, xSize));
    userW.set_data_handle(args.f32(3, wSize));
    dst.set_data_handle(y);
    if (plan.reorderW) plan.toPrim.execute(s, userW, primW);
    plan.prim.execute(s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, primW}, {DNNL_ARG_DST, dst}});
  } else if (mode == kBackwardData) {
    src.set_data_handle(args.f32(1, xSize));
    dst.set_data_handle(args.f32(2, ySize));
    userW.set_data_handle(args.f32(3, wSize));
    if (plan.reorderW) plan.toPrim.execute(s, userW, primW);
    plan.prim.execute(s, {{DNNL_ARG_DIFF_SRC, src}, {DNNL_ARG_WEIGHTS, primW}, {DNNL_ARG_DIFF_DST, dst}});
  } else {
    userW.set_data_handle(args.f32(1, wSize));
    src.set_data_handle(args.f32(2, xSize));
    dst.set_data_handle(args.f32(3, ySize));
    plan.prim.execute(s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_WEIGHTS, primW}, {DNNL_ARG_DIFF_DST, dst}});
    if (plan.reorderW) plan.toUser.execute(s, primW, userW);
  }
  s.wait();
}

struct PoolPlan {
  dnnl::pooling_forward fwd;
  dnnl::pooling_backward bwd;
  memory::desc ws;
  bool hasWs = false;
};
static std::map<std::vector<int64_t>, std::unique_ptr<PoolPlan>> poolPlans;

enum PoolMode { kMaxForward = 0, kAvgForward = 1, kMaxBackward = 2, kAvgBackward = 3 };

static PoolPlan& poolPlan(int mode, const std::vector<int64_t>& p) {
  std::vector<int64_t> key(p);
  key.push_back(mode);
  std::lock_guard<std::mutex> lock(planMutex);
  auto it = poolPlans.find(key);
  if (it != poolPlans.end()) return *it->second;
  int64_t n = p[0], h = p[1], w = p[2], c = p[3], ho = p[4], wo = p[5], fh = p[6], fw = p[7];
  memory::dims strides{p[8], p[9]}, kernel{fh, fw}, padL{p[10], p[11]}, padR{p[12], p[13]};
  bool isMax = mode == kMaxForward || mode == kMaxBackward;
  bool backward = mode == kMaxBackward || mode == kAvgBackward;
  auto alg = isMax ? dnnl::algorithm::pooling_max : dnnl::algorithm::pooling_avg_exclude_padding;
  memory::desc src = nhwc(n, h, w, c), dst = nhwc(n, ho, wo, c);
  auto prop = backward ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  dnnl::pooling_forward::desc fd(prop, alg, src, dst, strides, kernel, padL, padR);
  dnnl::pooling_forward::primitive_desc fpd(fd, cpuEngine());
  auto plan = std::make_unique<PoolPlan>();
  plan->fwd = dnnl::pooling_forward(fpd);
  if (backward) {
    dnnl::pooling_backward::desc bd(alg, src, dst, strides, kernel, padL, padR);
    dnnl::pooling_backward::primitive_desc bpd(bd, cpuEngine(), fpd);
    plan->bwd = dnnl::pooling_backward(bpd);
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
  int64_t n = p[0], h = p[1], w = p[2], c = p[3], ho = p[4], wo = p[5];
  size_t xSize = size_t(n * h * w * c), ySize = size_t(n * ho * wo * c);
  PoolPlan& plan = poolPlan(mode, p);
  auto& eng = cpuEngine();
  auto& s = cpuStream();
  memory src(nhwc(n, h, w, c), eng, nullptr), dst(nhwc(n, ho, wo, c), eng, nullptr);
  if (mode == kMaxForward || mode == kAvgForward) {
    dst.set_data_handle(args.f32(1, ySize));
    src.set_data_handle(args.f32(2, xSize));
    plan.fwd.execute(s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
  } else if (mode == kMaxBackward) {
    src.set_data_handle(args.f32(1, xSize));  // dx
    memory x(nhwc(n, h, w, c), eng, args.f32(2, xSize));
    memory dy(nhwc(n, ho, wo, c), eng, args.f32(3, ySize));
    std::vector<float> y(ySize);
    std::vector<uint8_t> wsBuf(plan.hasWs ? plan.ws.get_size() : 0);
    memory ws(plan.ws, eng, wsBuf.data());
    dst.set_data_handle(y.data());
    plan.fwd.execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, dst}, {DNNL_ARG_WORKSPACE, ws}});
    plan.bwd.execute(s, {{DNNL_ARG_DIFF_SRC, src}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WORKSPACE, ws}});
  } else {
    src.set_data_handle(args.f32(1, xSize));
    dst.set_data_handle(args.f32(2, ySize));
    plan.bwd.execute(s, {{DNNL_ARG_DIFF_SRC, src}, {DNNL_ARG_DIFF_DST, dst}});
  }
  s.wait();
}

}  // namespace clue
