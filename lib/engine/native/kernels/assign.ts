/** Native kernels of CLUENet's hard assignment and dispatch (lib/engine/fused/assign.ts), forward and backward. */
import type { tf } from "../../tf.js";
import { CLUSTER_ASSIGN, CLUSTER_ASSIGN_GRAD, CLUSTER_DISPATCH, CLUSTER_DISPATCH_GRAD } from "../../fused/names.js";
import { headsAttr, nativeKernel } from "./common.js";

const floats = (...ts: Array<tf.TensorInfo | undefined>) => ts.every((t) => t !== undefined && t.dtype === "float32");

// With the attribute `heads` > 1, keys (and their gradient) and the dispatched rows are [B, N, heads·d].

export const clusterAssign = nativeKernel(CLUSTER_ASSIGN, ({ keys, centers, alpha, beta }, backend, attrs) => {
  if (!floats(keys, centers, alpha, beta)) throw new Error(`${CLUSTER_ASSIGN}: keys, centers, alpha and beta must be float32`);
  const [g, m, d] = centers!.shape as [number, number, number];
  const n = keys!.shape[1]!;
  const index = backend.alloc(g * n, "int32");
  const score = backend.alloc(g * n, "float32");
  const cos = backend.alloc(g * n, "float32");
  backend.addon.clusterAssign(index, score, cos, backend.values(keys!), backend.values(centers!), backend.values(alpha!)[0]!,
    backend.values(beta!)[0]!, g, n, m, d, headsAttr(attrs));
  return [backend.output(index, [g, n], "int32"), backend.output(score, [g, n], "float32"), backend.output(cos, [g, n], "float32")];
});

export const clusterAssignGrad = nativeKernel(CLUSTER_ASSIGN_GRAD, ({ dscore, index, score, cos, keys, centers, alpha }, backend, attrs) => {
  const [g, m, d] = centers!.shape as [number, number, number];
  const n = keys!.shape[1]!;
  const dkeys = backend.alloc(g * n * d, "float32");
  const dcenters = backend.alloc(g * m * d, "float32");
  const dparams = new Float32Array(2); // [dα, dβ]
  backend.addon.clusterAssignGrad(dkeys, dcenters, dparams, backend.values(dscore!), backend.values<Int32Array>(index!), backend.values(score!),
    backend.values(cos!), backend.values(keys!), backend.values(centers!), backend.values(alpha!)[0]!, g, n, m, d, headsAttr(attrs));
  const dalpha = backend.alloc(1, "float32"), dbeta = backend.alloc(1, "float32");
  dalpha[0] = dparams[0]!;
  dbeta[0] = dparams[1]!;
  return [backend.output(dkeys, keys!.shape, "float32"), backend.output(dcenters, [g, m, d], "float32"),
    backend.output(dalpha, [1], "float32"), backend.output(dbeta, [1], "float32")];
});

export const clusterDispatch = nativeKernel(CLUSTER_DISPATCH, ({ index, score, centers }, backend, attrs) => {
  if (!floats(score, centers)) throw new Error(`${CLUSTER_DISPATCH}: score and centers must be float32`);
  const [g, m, d] = centers!.shape as [number, number, number];
  const n = index!.shape[1]!, heads = headsAttr(attrs);
  const out = backend.alloc(g * n * d, "float32");
  backend.addon.clusterDispatch(out, backend.values<Int32Array>(index!), backend.values(score!), backend.values(centers!), g, n, m, d, heads);
  return backend.output(out, [g / heads, n, heads * d], "float32");
});

export const clusterDispatchGrad = nativeKernel(CLUSTER_DISPATCH_GRAD, ({ dy, index, score, centers }, backend, attrs) => {
  const [g, m, d] = centers!.shape as [number, number, number];
  const n = index!.shape[1]!;
  const dscore = backend.alloc(g * n, "float32");
  const dcenters = backend.alloc(g * m * d, "float32");
  backend.addon.clusterDispatchGrad(dscore, dcenters, backend.values(dy!), backend.values<Int32Array>(index!), backend.values(score!),
    backend.values(centers!), g, n, m, d, headsAttr(attrs));
  return [backend.output(dscore, [g, n], "float32"), backend.output(dcenters, [g, m, d], "float32")];
});

export const assignKernels: tf.KernelConfig[] = [clusterAssign, clusterAssignGrad, clusterDispatch, clusterDispatchGrad];
