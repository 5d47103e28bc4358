/** The native multi-tensor AdamW update (lib/engine/fused/optim.ts, adamwUpdate). */
import type { tf } from "../../tf.js";
import { ADAMW_UPDATE } from "../../fused/names.js";
import { adamwUpdateInputs } from "../../fused/optim.js";
import type { NativeBackend } from "../backend.js";
import { nativeKernel } from "./common.js";

/**
 * The storage of `t` that may be overwritten in place. A tensor whose data another tensor shares
 * (clone, reshape) cannot be; the caller sends those elsewhere. When the buffer is visible to
 * anyone else — values handed to user code by dataSync/data (they are the storage itself), a
 * tensor made from the user's array, another tensor's view of the same buffer, or a buffer too
 * small for the pool to track — the values move to a fresh pooled buffer first, swapped in under
 * the same dataId: only this tensor holds it, so nobody else sees the swap, and the next step
 * finds a buffer of its own.
 */
function writable(backend: NativeBackend, t: tf.TensorInfo): Float32Array {
  const data = backend.data.get(t.dataId);
  if (data.refCount !== 1) throw new Error(`${ADAMW_UPDATE}: a tensor shares its data (refCount ${data.refCount}); update it out of place`);
  const values = data.values as Float32Array;
  if (backend.pool.viewers(values.buffer) === 1) return values;
  // At least the pool's minimum, so small tensors are tracked too (a view of part of the buffer).
  const fresh = new Float32Array(backend.pool.take(Math.max(values.byteLength, backend.pool.minBytes)), 0, values.length);
  fresh.set(values);
  backend.move(t.dataId, fresh, t.shape, "float32", 1);
  backend.pool.release(values.buffer);
  return fresh;
}

export const adamwUpdate = nativeKernel(ADAMW_UPDATE, (inputs, backend, attrs) => {
  const a = attrs as Record<string, number>;
  const args: Array<number | Float32Array> = [a.lr!, a.beta1!, a.beta2!, a.eps!, a.weightDecay!, a.step!];
  for (let i = 0; i < a.count!; i++) {
    const [pName, gName, mName, vName] = adamwUpdateInputs(i);
    const [p, g, m, v] = [inputs[pName], inputs[gName], inputs[mName], inputs[vName]];
    if (![p, g, m, v].every((t) => t?.dtype === "float32")) throw new Error(`${ADAMW_UPDATE}: param, grad and both moments must be float32`);
    args.push(writable(backend, p!), backend.values(g!), writable(backend, m!), writable(backend, v!));
  }
  backend.addon.adamwUpdate(...args);
  return [];
});

export const optimKernels: tf.KernelConfig[] = [adamwUpdate];
