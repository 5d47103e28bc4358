// Every kernel the addon exports; addon.cc lists them by name.
#pragma once
#include "napi_args.h"

namespace clue {

void matmul(const Args& a);
void matmulSum(const Args& a);
void gemmPolicy(const Args& a);
void conv(const Args& a);
void narrowConv(const Args& a);
void depthwise(const Args& a);
void depthwiseGrad(const Args& a);
void depthwiseGelu(const Args& a);
void depthwiseGeluGrad(const Args& a);
void linearGrad(const Args& a);
void pool(const Args& a);
void avgPoolTiles(const Args& a);
void poolSpreadAdd(const Args& a);
void unary(const Args& a);
void binary(const Args& a);
void reduce(const Args& a);
void softmax(const Args& a);
void copyStrided(const Args& a);
void fill(const Args& a);
void cast(const Args& a);
void oneHot(const Args& a);
void gather(const Args& a);
void segmentSum(const Args& a);
void select(const Args& a);
void addN(const Args& a);
void layerNorm(const Args& a);
void layerNormGrad(const Args& a);
void gelu(const Args& a);
void geluGrad(const Args& a);
void l2Normalize(const Args& a);
void l2NormalizeGrad(const Args& a);
void normalizePool(const Args& a);
void normalizePoolGrad(const Args& a);
void nearestCenter(const Args& a);
void clusterMean(const Args& a);
void clusterMeanGrad(const Args& a);
void adamw(const Args& a);
void adamwUpdate(const Args& a);
void residual(const Args& a);
void residualGrad(const Args& a);
void softAggregate(const Args& a);
void softAggregateGrad(const Args& a);
void clusterAssign(const Args& a);
void clusterAssignGrad(const Args& a);
void clusterDispatch(const Args& a);
void clusterDispatchGrad(const Args& a);
void temperedNormalize(const Args& a);
void temperedNormalizeGrad(const Args& a);
void gatedMix(const Args& a);
void gatedMixGrad(const Args& a);

}  // namespace clue
