/**
 * Average pooling whose windows tile the image (strides equal to the window, no padding: CLUENet's
 * cluster pooling), on the addon's own kernels (native/src/avgpool.cc); the pool kernels in
 * conv.ts route these cases here and keep oneDNN for every other window.
 */
import type { tf } from "../../tf.js";
import { NORMALIZE_POOL, NORMALIZE_POOL_GRAD, PASS_POOL, PASS_POOL_GRAD } from "../../fused/names.js";
import { headsAttr, nativeKernel, type Attrs } from "./common.js";

/** The addon's avgPoolTiles modes. */
export const AVG_TILES = { forward: 0, gradient: 1 } as const;

/**
 * Whether a pool parameter block ([n, h, w, c, ho, wo, fh, fw, sh, sw, padTop, padLeft,
 * padBottom, padRight], conv.ts' poolParams) describes windows that tile the image: strides
 * equal to the window, no padding, and every window inside it.
 */
export function windowsTile(params: Int32Array): boolean {
  const [, h, w, , ho, wo, fh, fw, sh, sw, top, left, bottom, right] = params as unknown as number[];
  return sh === fh && sw === fw && top === 0 && left === 0 && bottom === 0 && right === 0 && ho! * fh! <= h! && wo! * fw! <= w!;
}

/** [n, h, w, c, gh, gw] of a map and its pooling grid (attributes gh, gw of lib/engine/fused/pool.ts). */
function gridOf(x: tf.TensorInfo, attrs: Attrs): [number, number, number, number, number, number] {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  return [n, h, w, c, attrs.gh as number, attrs.gw as number];
}

/** [xn, pooled] of normalizeAndPool, one pass over x. */
export const normalizePool = nativeKernel(NORMALIZE_POOL, ({ x }, backend, attrs) => {
  const [n, h, w, c, gh, gw] = gridOf(x!, attrs);
  const y = backend.alloc(n * h * w * c, "float32");
  const pooled = backend.alloc(n * gh * gw * c, "float32");
  backend.addon.normalizePool(y, pooled, backend.values(x!), n, h, w, c, c / headsAttr(attrs), gh, gw, Number(attrs.epsilon));
  return [backend.output(y, x!.shape.slice(), "float32"), backend.output(pooled, [n, gh, gw, c], "float32")];
});

export const normalizePoolGrad = nativeKernel(NORMALIZE_POOL_GRAD, ({ dy, dpooled, x }, backend, attrs) => {
  const [n, h, w, c, gh, gw] = gridOf(x!, attrs);
  const dx = backend.alloc(n * h * w * c, "float32");
  backend.addon.normalizePoolGrad(dx, backend.values(dy!), backend.values(dpooled!), backend.values(x!), n, h, w, c, c / headsAttr(attrs), gh, gw,
    Number(attrs.epsilon));
  return backend.output(dx, x!.shape.slice(), "float32");
});

/** [x, pooled] of passAndPool: x passed through as a second reference to its storage (no copy), then the tiled pool. */
export const passPool = nativeKernel(PASS_POOL, ({ x }, backend, attrs) => {
  const [n, h, w, c, gh, gw] = gridOf(x!, attrs);
  const pooled = backend.alloc(n * gh * gw * c, "float32");
  const fh = h / gh, fw = w / gw;
  backend.addon.avgPoolTiles(AVG_TILES.forward, pooled, backend.values(x!), Int32Array.of(n, h, w, c, gh, gw, fh, fw, fh, fw, 0, 0, 0, 0));
  backend.incRef(x!.dataId);
  return [{ dataId: x!.dataId, shape: x!.shape.slice(), dtype: x!.dtype }, backend.output(pooled, [n, gh, gw, c], "float32")];
});

export const passPoolGrad = nativeKernel(PASS_POOL_GRAD, ({ dskip, dpooled }, backend, attrs) => {
  const [n, h, w, c, gh, gw] = gridOf(dskip!, attrs);
  const dx = backend.alloc(n * h * w * c, "float32");
  backend.addon.poolSpreadAdd(dx, backend.values(dskip!), backend.values(dpooled!), n, h, w, c, gh, gw);
  return backend.output(dx, dskip!.shape.slice(), "float32");
});

export const poolTeeKernels: tf.KernelConfig[] = [normalizePool, normalizePoolGrad, passPool, passPoolGrad];
