/**
 * A channels-last map used twice, as it is (or L2-normalised per head) and average-pooled to a
 * coarse grid of equal windows: CLUENet's keys and values, which feed both the pixel-level
 * similarity and the pooled cluster centers. As a composition, the map has two consumers and its
 * gradient is two full-size maps (the pool's spread and the other use's) summed by the tape's Add;
 * here one kernel each way reads the map once and writes its gradient once.
 */
import { tf } from "../tf.js";
import { runKernels, useKernel } from "./dispatch.js";
import { NORMALIZE_POOL, NORMALIZE_POOL_GRAD, PASS_POOL, PASS_POOL_GRAD } from "./names.js";
import { l2Normalize } from "./norm.js";

/** The pooling grid: [rows, columns] of windows. */
export type PoolGrid = readonly [number, number];

const s = (t: tf.Tensor) => JSON.stringify(t.shape);

/**
 * `[xn, pooled]` for x [B, H, W, heads·d]: xn is x with each head's d channels L2-normalised at
 * every pixel (x / max(‖x‖₂, ε), PyTorch's F.normalize), pooled [B, gh, gw, heads·d] the average
 * of x over each of the gh×gw equal windows (H/gh × W/gw; gh must divide H and gw divide W).
 * Differentiable in x; on backends with the kernel dx = the normalisation's gradient + the pooled
 * gradient spread over its window comes out of one pass. Elsewhere {@link referenceNormalizeAndPool}.
 */
export function normalizeAndPool(x: tf.Tensor4D, heads: number, grid: PoolGrid, epsilon = 1e-12): [tf.Tensor4D, tf.Tensor4D] {
  checkPool("normalizeAndPool", x, grid, heads);
  if (x.size === 0 || !useKernel(NORMALIZE_POOL, normalizePoolGradient)) return referenceNormalizeAndPool(x, heads, grid, epsilon);
  const [xn, pooled] = runKernels(NORMALIZE_POOL, { x }, { heads, gh: grid[0], gw: grid[1], epsilon });
  return [xn as tf.Tensor4D, pooled as tf.Tensor4D];
}

/** The composition {@link normalizeAndPool} stands for: {@link l2Normalize} over rows of d, and an average pool. */
export function referenceNormalizeAndPool(x: tf.Tensor4D, heads: number, grid: PoolGrid, epsilon = 1e-12): [tf.Tensor4D, tf.Tensor4D] {
  checkPool("normalizeAndPool", x, grid, heads);
  const [b, h, w, c] = x.shape;
  const xn = tf.tidy(() => tf.reshape(l2Normalize(tf.reshape(x, [b, h * w * heads, c / heads]), epsilon), x.shape) as tf.Tensor4D);
  return [xn, gridPool(x, grid)];
}

/**
 * `[skip, pooled]` for x [B, H, W, C]: `skip` equals x and shares its storage, pooled [B, gh, gw, C]
 * is the average of x over each of the gh×gw equal windows. Differentiable in x; on backends with
 * the kernel dx = d(skip) + the pooled gradient spread over its window is written in one pass
 * instead of an AvgPoolGrad and an Add over the whole map. Elsewhere {@link referencePassAndPool}.
 */
export function passAndPool(x: tf.Tensor4D, grid: PoolGrid): [tf.Tensor4D, tf.Tensor4D] {
  checkPool("passAndPool", x, grid);
  if (x.size === 0 || !useKernel(PASS_POOL, passPoolGradient)) return referencePassAndPool(x, grid);
  const [skip, pooled] = runKernels(PASS_POOL, { x }, { gh: grid[0], gw: grid[1] });
  return [skip as tf.Tensor4D, pooled as tf.Tensor4D];
}

/** The composition {@link passAndPool} stands for: a copy of x (sharing its storage) and an average pool. */
export function referencePassAndPool(x: tf.Tensor4D, grid: PoolGrid): [tf.Tensor4D, tf.Tensor4D] {
  checkPool("passAndPool", x, grid);
  return [tf.clone(x), gridPool(x, grid)];
}

/** The average pool to the grid; x itself (a copy sharing its storage) when the windows are single pixels. */
function gridPool(x: tf.Tensor4D, [gh, gw]: PoolGrid): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (gh === h && gw === w) return tf.clone(x);
  const window: [number, number] = [h / gh, w / gw];
  return tf.avgPool(x, window, window, "valid");
}

function checkPool(op: string, x: tf.Tensor, grid: PoolGrid, heads = 1): void {
  if (x.rank !== 4) throw new Error(`${op}: x ${s(x)} must be a channels-last map [B, H, W, C]`);
  if (x.dtype !== "float32") throw new Error(`${op}: x must be float32, got ${x.dtype}; cast it first`);
  const [, h, w, c] = x.shape as number[] as [number, number, number, number];
  const [gh, gw] = grid;
  if (!Number.isInteger(gh) || !Number.isInteger(gw) || gh < 1 || gw < 1 || h % gh !== 0 || w % gw !== 0) {
    throw new Error(`${op}: the grid [${gh}, ${gw}] must divide the ${h}×${w} map into equal windows (use adaptive pooling for other sizes)`);
  }
  if (!Number.isInteger(heads) || heads < 1 || c % heads !== 0) {
    throw new Error(`${op}: heads must be a whole number ≥ 1 dividing the ${c} channels of x ${s(x)}, got ${heads}`);
  }
}

const normalizePoolGradient = (): tf.GradConfig => ({
  kernelName: NORMALIZE_POOL,
  inputsToSave: ["x"],
  gradFunc: (dys, saved, attrs) => {
    const [x] = saved as tf.Tensor[];
    const [dy, dpooled] = dys as tf.Tensor[];
    return { x: () => tf.engine().runKernel(NORMALIZE_POOL_GRAD, { dy: dy!, dpooled: dpooled!, x: x! }, attrs as tf.NamedAttrMap) as tf.Tensor };
  },
});

const passPoolGradient = (): tf.GradConfig => ({
  kernelName: PASS_POOL,
  gradFunc: (dys, _saved, attrs) => {
    const [dskip, dpooled] = dys as tf.Tensor[];
    return { x: () => tf.engine().runKernel(PASS_POOL_GRAD, { dskip: dskip!, dpooled: dpooled! }, attrs as tf.NamedAttrMap) as tf.Tensor };
  },
});
