// The cluelab native addon: CPU kernels for TensorFlow.js tensors held in JavaScript typed
// arrays (zero-copy), threaded with OpenMP and using oneDNN for GEMM, convolution and pooling.
#include <dnnl.hpp>

#include "kernels.h"
#include "parallel.h"

namespace clue {

/** info(): { threads, onednn, isa } — what doctor reports. */
static napi_value info(napi_env env, napi_callback_info) {
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_int32(env, poolThreads(), &v);
  napi_set_named_property(env, obj, "threads", v);
  const dnnl_version_t* ver = dnnl_version();
  std::string version = std::to_string(ver->major) + "." + std::to_string(ver->minor) + "." + std::to_string(ver->patch);
  napi_create_string_utf8(env, version.c_str(), version.size(), &v);
  napi_set_named_property(env, obj, "onednn", v);
  const char* isa = "unknown";
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: isa = "SSE4.1"; break;
    case dnnl::cpu_isa::avx: isa = "AVX"; break;
    case dnnl::cpu_isa::avx2: isa = "AVX2"; break;
    case dnnl::cpu_isa::avx512_core: isa = "AVX-512"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = "AVX-512 VNNI"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = "AVX-512 BF16"; break;
    case dnnl::cpu_isa::avx512_core_amx: isa = "AVX-512 AMX"; break;
    default: break;
  }
  napi_create_string_utf8(env, isa, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "isa", v);
  return obj;
}

/** setThreads(n): the pool size for every later kernel. */
static void setThreads(const Args& args) {
  int64_t n = args.integer(0);
  if (n < 1 || n > 1024) throw Error("setThreads: need 1..1024 threads");
  setPoolThreads(int(n));
}

#define CLUE_EXPORT(name) {#name, nullptr, entry<name>, nullptr, nullptr, nullptr, napi_default, nullptr}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"info", nullptr, info, nullptr, nullptr, nullptr, napi_default, nullptr},
      CLUE_EXPORT(setThreads), CLUE_EXPORT(matmul), CLUE_EXPORT(conv), CLUE_EXPORT(narrowConv), CLUE_EXPORT(depthwise), CLUE_EXPORT(depthwiseGrad),
      CLUE_EXPORT(depthwiseGelu), CLUE_EXPORT(depthwiseGeluGrad),
      CLUE_EXPORT(pool), CLUE_EXPORT(unary),
      CLUE_EXPORT(binary), CLUE_EXPORT(reduce), CLUE_EXPORT(softmax), CLUE_EXPORT(copyStrided), CLUE_EXPORT(fill),
      CLUE_EXPORT(cast), CLUE_EXPORT(oneHot), CLUE_EXPORT(gather), CLUE_EXPORT(segmentSum), CLUE_EXPORT(select),
      CLUE_EXPORT(addN), CLUE_EXPORT(layerNorm), CLUE_EXPORT(layerNormGrad), CLUE_EXPORT(gelu), CLUE_EXPORT(geluGrad),
      CLUE_EXPORT(l2Normalize), CLUE_EXPORT(l2NormalizeGrad), CLUE_EXPORT(nearestCenter), CLUE_EXPORT(clusterMean),
      CLUE_EXPORT(clusterMeanGrad), CLUE_EXPORT(adamw), CLUE_EXPORT(residual), CLUE_EXPORT(residualGrad),
      CLUE_EXPORT(softAggregate), CLUE_EXPORT(softAggregateGrad),
      CLUE_EXPORT(clusterAssign), CLUE_EXPORT(clusterAssignGrad), CLUE_EXPORT(clusterDispatch), CLUE_EXPORT(clusterDispatchGrad),
      CLUE_EXPORT(gemmPolicy), CLUE_EXPORT(matmulSum),
      CLUE_EXPORT(avgPoolTiles), CLUE_EXPORT(poolSpreadAdd), CLUE_EXPORT(normalizePool), CLUE_EXPORT(normalizePoolGrad),
      CLUE_EXPORT(adamwUpdate),
      CLUE_EXPORT(temperedNormalize), CLUE_EXPORT(temperedNormalizeGrad), CLUE_EXPORT(gatedMix), CLUE_EXPORT(gatedMixGrad),
      CLUE_EXPORT(linearGrad),
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace clue

NAPI_MODULE(NODE_GYP_MODULE_NAME, clue::init)
