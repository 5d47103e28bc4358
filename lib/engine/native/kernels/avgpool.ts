/**
 * Average pooling whose windows tile the image (strides equal to the window, no padding: CLUENet's
 * cluster pooling), on the addon's own kernels (native/src/avgpool.cc); the pool kernels in
 * conv.ts route these cases here and keep oneDNN for every other window.
 */

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
