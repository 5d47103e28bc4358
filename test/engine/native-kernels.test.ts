import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { tf } from "../../lib/engine/index.js";
import { adamwStep, conv2dBias, nearestCenter } from "../../lib/engine/fused/index.js";
import { NativeBackend } from "../../lib/engine/native/backend.js";
import { CONV, convParams, handWritten, narrowDense, oneSweepGradients } from "../../lib/engine/native/kernels/conv.js";
import { computeOn, loadBackend, mismatch, seeded } from "../helpers/backends.js";

const t = (shape: number[], seed: number, lo = -1, hi = 1) => tf.tensor(seeded(shape.reduce((a, b) => a * b, 1), seed, lo, hi), shape);
const ints = (values: number[], shape?: number[]) => tf.tensor(values, shape, "int32");

/**
 * Kernel calls and argument combinations the gradient-parity cases do not reach, each compared
 * with the cpu backend (values cast to float32 for comparison; dtypes compared separately).
 */
const CASES: Array<{ name: string; run: () => tf.Tensor[] }> = [
  { name: "stridedSlice: negative strides, shrink and new axes", run: () => [tf.stridedSlice(t([4, 6, 5], 1), [3, 0, 4], [0, 6, 0], [-1, 2, -2], 0, 0, 0, 0, 0), tf.stridedSlice(t([4, 6, 5], 2), [1, 0, 1], [2, 6, 4], [1, 1, 1], 0, 0, 0, 2, 1)] },
  { name: "slice: contiguous and strided windows", run: () => [tf.slice(t([5, 4, 3], 3), [1, 0, 0], [3, 4, 3]), tf.slice(t([5, 4, 3], 4), [0, 1, 1], [5, 2, 2])] },
  { name: "strided copies long enough to split over the pool: chunks start mid-index (transposes, tile, reverse, slice)", run: () => {
      const x = t([5, 64, 33, 16], 41), y = t([3, 50, 7, 40], 42);
      return [
        tf.transpose(x, [1, 2, 0, 3]), tf.transpose(x, [2, 0, 1, 3]), tf.transpose(y, [2, 0, 3, 1]), tf.transpose(y, [3, 2, 1, 0]),
        tf.tile(t([3, 1, 7, 2, 5, 3], 43), [2, 40, 1, 3, 1, 2]), tf.reverse(x, [1, 3]), tf.slice(y, [1, 3, 2, 5], [2, 40, 4, 30]),
      ];
    } },
  { name: "tile, reverse, pad with a constant", run: () => [tf.tile(t([2, 3, 1], 5), [2, 1, 4]), tf.reverse(t([3, 4, 5], 6), [0, 2]), tf.pad(t([2, 3, 4], 7), [[1, 0], [0, 2], [3, 1]], -2.5)] },
  { name: "concat on every axis, stack, unstack, split", run: () => {
      const a = t([2, 3, 4], 8), b = t([2, 3, 4], 9);
      return [tf.concat([a, b], 0), tf.concat([a, b], 1), tf.concat([a, b, a], 2), tf.stack([a, b], 1), ...tf.unstack(a, 2), ...tf.split(b, [1, 3], 2)];
    } },
  { name: "reductions over scattered axes, keepDims, prod, min, argMin", run: () => {
      const x = t([3, 4, 5, 2], 10, 0.5, 1.5);
      return [tf.sum(x, [0, 2]), tf.mean(x, [1, 3], true), tf.max(x, [0, 3]), tf.min(x, 2), tf.prod(x, 1), tf.argMin(x, 1), tf.argMax(x, -1), tf.sum(x)];
    } },
  { name: "all, any, comparisons on int32, logical ops", run: () => {
      const a = ints([1, 5, -3, 7, 0, 2], [2, 3]), b = ints([1, 2, -3, 9, 1, 2], [2, 3]);
      const m = tf.greater(a, b);
      return [tf.equal(a, b), m, tf.lessEqual(a, b), tf.all(tf.notEqual(a, b), 1), tf.any(m, 0), tf.logicalAnd(m, tf.less(a, 6)), tf.logicalOr(m, tf.equal(a, b))];
    } },
  { name: "cast between float32, int32 and bool", run: () => {
      const x = tf.tensor1d([-2.7, -0.5, 0, 0.4, 1.5, 3.99, 1e10]);
      return [tf.cast(x, "int32"), tf.cast(x, "bool"), tf.cast(tf.cast(x, "bool"), "float32"), tf.cast(ints([3, -4, 0]), "float32")];
    } },
  { name: "gather on an axis, oneHot with on/off values, unsortedSegmentSum with ignored ids", run: () => [
      tf.gather(t([3, 5, 2], 11), ints([4, 0, 4, 1]) as tf.Tensor1D, 1),
      tf.oneHot(ints([2, 0, -1, 5, 1]) as tf.Tensor1D, 4, 3, -1),
      tf.unsortedSegmentSum(t([6, 3], 12), ints([0, 3, -1, 3, 7, 1]) as tf.Tensor1D, 4),
    ] },
  { name: "unsortedSegmentSum large enough to split its segments over the pool (repeated and ignored ids)", run: () => {
      const ids = Array.from({ length: 5000 }, (_, r) => ((r * 7919) % 613) - 3);
      return [tf.unsortedSegmentSum(t([5000, 16], 40), ints(ids) as tf.Tensor1D, 600)];
    } },
  { name: "where, addN, broadcasting arithmetic, NaN through relu and maximum", run: () => {
      const a = t([2, 1, 4], 13), b = t([3, 1], 14);
      const nan = tf.tensor1d([NaN, -1, 2, NaN]);
      return [tf.where(tf.greater(a, 0), a, tf.mul(a, -2)), tf.addN([a, a, tf.mul(a, 2)]), tf.sub(a, b), tf.div(b, tf.add(a, 3)), tf.squaredDifference(a, b), tf.pow(tf.abs(a), b), tf.relu(nan), tf.maximum(nan, 0), tf.minimum(nan, 1)];
    } },
  { name: "float arithmetic on long rows (split over the pool) and rank-2 broadcasts (bias rows, per-row scales, both sides)", run: () => {
      const big = t([300, 1, 130], 30, -2, 2), same = t([300, 1, 130], 31, -2, 2), row = t([130], 32, 0.5, 2), col = t([300, 1, 1], 33, 0.5, 2);
      const withNaN = tf.mul(big, tf.tensor1d(Array.from({ length: 130 }, (_, i) => (i % 17 === 3 ? NaN : 1))));
      return [
        tf.add(big, same), tf.mul(big, same), tf.sub(same, big), tf.div(big, tf.add(tf.abs(same), 0.5)),
        tf.add(big, row), tf.sub(row, big), tf.mul(big, col), tf.div(col, tf.add(tf.abs(big), 0.5)),
        tf.maximum(withNaN, row), tf.minimum(row, withNaN), tf.squaredDifference(big, col), tf.pow(tf.abs(big), row),
        tf.add(big, tf.scalar(3)), tf.mul(tf.scalar(-2), big),
      ];
    } },
  { name: "addN over 40 tensors (more arguments than the addon's usual buffer)", run: () => [tf.addN(Array.from({ length: 40 }, (_, i) => t([3, 5], 100 + i)))] },
  { name: "unary maps (clip, leaky relu, elu, selu, softplus, step, sign, round, floor, log1p)", run: () => {
      const x = t([40], 15, -6, 6);
      return [tf.clipByValue(x, -1.5, 2), tf.leakyRelu(x, 0.1), tf.elu(x), tf.selu(x), tf.softplus(x), tf.step(x, 0.3), tf.sign(x), tf.round(x), tf.floor(x), tf.log1p(tf.abs(x)), tf.tanh(x), tf.reciprocal(x)];
    } },
  { name: "fused matMul: bias on rows or full, every activation, broadcast batch", run: () => {
      const a = t([2, 5, 7], 16), b = t([7, 3], 17), rowBias = t([3], 18), fullBias = t([5, 3], 19), alpha = t([3], 20);
      const acts = ["linear", "relu", "relu6", "sigmoid", "elu", "leakyrelu"] as const;
      return [
        ...acts.map((activation) => tf.fused.matMul({ a, b: tf.tile(b.expandDims(0), [2, 1, 1]) as tf.Tensor3D, bias: rowBias, activation, leakyreluAlpha: 0.15 })),
        tf.fused.matMul({ a, b: b.expandDims(0) as tf.Tensor3D, bias: fullBias, activation: "prelu", preluActivationWeights: alpha }),
        tf.matMul(t([1, 4, 6], 21), t([3, 6, 2], 22)),
        tf.matMul(t([3, 6, 4], 23), t([6, 2], 24), true, false),
      ];
    } },
  { name: "matMul small-matrix kernel: tiny batched products, every transpose, broadcast batch, ragged n and k, k = 1", run: () => {
      const out: tf.Tensor[] = [];
      // [batch, m, n, k]: 16s exactly, ragged tails (n, k not multiples of 16), several column panels (n = 70)
      for (const [batch, m, n, k] of [[9, 16, 16, 16], [37, 5, 19, 13], [3, 11, 70, 9], [600, 3, 17, 20]]) {
        for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
          const a = t(ta ? [batch!, k!, m!] : [batch!, m!, k!], 40 + batch! + (ta ? 1 : 0));
          const b = t(tb ? [batch!, n!, k!] : [batch!, k!, n!], 50 + n! + (tb ? 1 : 0));
          out.push(tf.matMul(a, b, ta, tb));
        }
      }
      out.push(tf.matMul(t([1, 7, 12], 60), t([40, 12, 21], 61)), tf.matMul(t([40, 7, 12], 62), t([12, 21], 63), false, false));
      out.push(tf.matMul(t([40, 12, 7], 64), t([1, 21, 12], 65), true, true));
      out.push(tf.matMul(t([300, 1], 66), t([1, 7], 67)), tf.matMul(t([4, 1, 30], 68), t([4, 1, 9], 69), true, false));
      return out;
    } },
  { name: "matMul small-matrix kernel: transposed B packed one column panel at a time (attention scores, ragged panels)", run: () => {
      const out: tf.Tensor[] = [];
      // [batch, m, n, k]: CLUE_nano's attention scores (q·kᵀ), then a ragged last panel, k not a multiple of 8, m not of the
      // tile height, and an inner dimension long enough to be packed in pieces that accumulate into C (m = 1, k = 256)
      for (const [batch, m, n, k] of [[4, 16, 256, 16], [2, 16, 1024, 16], [3, 13, 200, 20], [5, 7, 130, 3], [2, 1, 1024, 256]]) {
        for (const ta of [false, true]) {
          out.push(tf.matMul(t(ta ? [batch!, k!, m!] : [batch!, m!, k!], 80 + m! + (ta ? 1 : 0)), t([batch!, n!, k!], 81 + n!), ta, true));
        }
      }
      out.push(tf.matMul(t([6, 16, 16], 82), t([1, 300, 16], 83), false, true)); // one B for every item
      out.push(tf.fused.matMul({ a: t([3, 16, 16], 84) as tf.Tensor3D, b: t([3, 100, 16], 85) as tf.Tensor3D, transposeB: true, bias: t([100], 86), activation: "relu" }));
      return out;
    } },
  { name: "matMul small-matrix kernel: long rows split over threads, a tall inner dimension, bias and activation", run: () => {
      const x = t([5000, 24], 70), w = t([24, 40], 71), bias = t([40], 72);
      return [
        tf.matMul(x, w), tf.matMul(w, x, true, true), tf.matMul(t([3000, 16], 73), t([16, 16], 74)),
        tf.matMul(t([9000, 12], 75), t([9000, 16], 76), true, false), // weight gradient: partial sums over the inner dimension
        tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias, activation: "relu" }),
        tf.fused.matMul({ a: t([30, 17, 9], 77) as tf.Tensor3D, b: t([30, 9, 21], 78) as tf.Tensor3D, bias: t([21], 79), activation: "elu" }),
      ];
    } },
  { name: "fused nearestCenter: ties go to the lowest index, NaN as argmax treats it, ragged sizes", run: () => {
      const c = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0], [0, 0, 0]]; // center 3 duplicates center 1; center 4 is zero
      const x = [[0.1, 2, 0.1], [0, 0, 0], [-1, -1, -1], [NaN, 1, 0], [0, 0, 5]];
      const nanFirst = [[NaN, 0, 0], ...c.slice(1)], nanLater = [c[0]!, c[1]!, [0, NaN, 1], c[3]!, c[4]!];
      return [
        nearestCenter(tf.tensor3d([x]), tf.tensor3d([c])),
        nearestCenter(tf.tensor3d([x]), tf.tensor3d([nanFirst])),
        nearestCenter(tf.tensor3d([x]), tf.tensor3d([nanLater])),
        nearestCenter(t([2, 150, 16], 80) as tf.Tensor3D, t([2, 40, 16], 81) as tf.Tensor3D),
        nearestCenter(t([3, 37, 5], 82) as tf.Tensor3D, t([3, 19, 5], 83) as tf.Tensor3D),
        nearestCenter(t([2, 9, 4], 84) as tf.Tensor3D, t([2, 1, 4], 85) as tf.Tensor3D),
      ];
    } },
  { name: "fused nearestCenter, the lane kernel's edges: center counts around its blocks of 8, point counts around its vectors of 8 and 16, d = 1 (ties everywhere), one point", run: () => {
      const out: tf.Tensor[] = [];
      // [groups, points, centers, d]: m = 7 (one short block), 8, 9 and 17 (a tail of 1), 33; n = 1, 8, 15, 16, 17, 31, 33, 64, 65
      for (const [g, n, m, d] of [[2, 17, 7, 16], [1, 33, 8, 16], [2, 31, 9, 32], [1, 65, 17, 3], [3, 16, 33, 64], [2, 15, 12, 1], [1, 1, 5, 2], [1, 64, 1, 16], [2, 8, 9, 7]]) {
        out.push(nearestCenter(t([g!, n!, d!], 90 + n! + d!) as tf.Tensor3D, t([g!, m!, d!], 91 + m! + d!) as tf.Tensor3D));
      }
      return out;
    } },
  { name: "fused nearestCenter on CLUE_nano's pooling shape: pooled centers with planted duplicates, points equal to centers, zero and NaN points, NaN centers", run: () => {
      // Points on a 32×32 grid, centers their 2×2 means (cluster pooling to 16×16), made in plain arithmetic so both backends get the same bits.
      const [g, side, d] = [2, 32, 16], half = side / 2, n = side * side, m = half * half;
      const x = seeded(g * n * d, 95, -1, 1), c = new Float32Array(g * m * d);
      for (let q = 0; q < g; q++)
        for (let i = 0; i < half; i++)
          for (let j = 0; j < half; j++)
            for (let k = 0; k < d; k++) {
              let s = 0;
              for (const [di, dj] of [[0, 0], [0, 1], [1, 0], [1, 1]]) s += x[((q * side + 2 * i + di!) * side + 2 * j + dj!) * d + k]!;
              c[((q * half + i) * half + j) * d + k] = s / 4;
            }
      const row = (a: Float32Array, i: number) => a.subarray(i * d, (i + 1) * d);
      // Duplicates within a block of 8, across a block boundary, far apart, and the last center repeating the first.
      for (const q of [0, 1])
        for (const [from, to] of [[13, 14], [7, 8], [3, 200], [0, 255], [100, 250]]) row(c, q * m + to!).set(row(c, q * m + from!));
      // Points that are exactly a duplicated center (similarity 1 twice), zero points, NaN points.
      for (const [i, j] of [[5, 14], [300, 8], [301, 200], [700, 255], [1023, 250]]) row(x, n + i!).set(row(c, m + j!));
      for (const i of [6, 17, 40]) row(x, i).fill(0);
      row(x, n + 33)[4] = NaN;
      const cNaN = Float32Array.from(c);
      row(cNaN, 0)[2] = NaN; // group 0: center 0 is NaN for every point, so every point picks it
      row(cNaN, m + 77)[5] = NaN; // group 1: a later NaN center never wins
      return [nearestCenter(tf.tensor3d(x, [g, n, d]), tf.tensor3d(c, [g, m, d])), nearestCenter(tf.tensor3d(x, [g, n, d]), tf.tensor3d(cNaN, [g, m, d]))];
    } },
  { name: "conv2d: dilation, explicit asymmetric padding, ceil rounding, fused bias + relu", run: () => {
      const x = t([2, 9, 8, 3], 25), w = t([3, 3, 3, 4], 26), dw = t([3, 3, 3, 2], 27), bias = t([4], 28);
      return [
        tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same", "NHWC", 2),
        tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, [[0, 0], [2, 0], [1, 2], [0, 0]]),
        tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 1, "NHWC", 1, "ceil"),
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 1, bias, activation: "relu" }),
        tf.depthwiseConv2d(x as tf.Tensor4D, dw as tf.Tensor4D, 2, "same"),
        tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter: dw as tf.Tensor4D, strides: 1, pad: "valid", dilations: 2, bias: t([6], 29), activation: "sigmoid" }),
      ];
    } },
  { name: "fused convolutions with the bias in the epilogue: hand-written depthwise (long rows split over the pool), oneDNN conv; a broadcast bias added after", run: () => {
      const x = t([4, 20, 24, 32], 90), dw = t([3, 3, 32, 1], 91), bias = t([32], 92), w = t([3, 3, 32, 24], 93), cb = t([24], 94);
      return [
        tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter: dw as tf.Tensor4D, strides: 1, pad: 1, bias }),
        tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter: dw as tf.Tensor4D, strides: 2, pad: "same", bias, activation: "relu" }),
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: "same", bias: cb }),
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 2, pad: 1, bias: t([1], 95) }),
        tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter: dw as tf.Tensor4D, strides: 1, pad: "valid", bias: t([1, 1, 32], 96) }),
      ];
    } },
  { name: "pooling with same padding and ceil rounding; max-pool gradient with ties", run: () => {
      const x = t([2, 7, 9, 3], 30);
      const ties = tf.tensor4d([1, 1, 0, 2, 2, 2, 1, 0, 1, 1, 2, 2, 0, 0, 2, 2], [1, 4, 4, 1]);
      const y = tf.maxPool(ties, 2, 2, "valid");
      return [
        tf.maxPool(x as tf.Tensor4D, 3, 2, "same"), tf.avgPool(x as tf.Tensor4D, [2, 3], [2, 2], "valid"), tf.maxPool(x as tf.Tensor4D, 2, 2, 0, "ceil"),
        tf.engine().runKernel("MaxPoolGrad", { dy: tf.ones(y.shape), input: ties, output: y }, { filterSize: 2, strides: 2, pad: "valid" }) as tf.Tensor,
      ];
    } },
  { name: "fused adamwStep: one kernel equals the reference composition", run: () => {
      const p = t([7, 5], 43), g = t([7, 5], 44), m = t([7, 5], 45, -0.1, 0.1), v = t([7, 5], 46, 0, 0.01);
      const r = adamwStep(p, g, m, v, 3, { lr: 0.01, weightDecay: 0.05 });
      return [r.param, r.m, r.v];
    } },
  { name: "int32 arithmetic and string-free fallbacks run the cpu kernels", run: () => [tf.add(ints([1, 2, 3]), ints([4, 5, 6])), tf.mul(ints([2, -3]), ints([5, 7])), tf.sum(ints([1, 2, 3, 4], [2, 2]), 0)] },
];

describe("native kernels against the cpu backend", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const dtypes = (name: "cpu" | "native") => {
        tf.setBackend(name);
        return tf.tidy(() => c.run().map((r) => r.dtype));
      };
      const expected = await computeOn("cpu", () => tf.tidy(() => c.run().map((r) => tf.cast(r, "float32"))));
      const actual = await computeOn("native", () => tf.tidy(() => c.run().map((r) => tf.cast(r, "float32"))));
      assert.equal(actual.leaked, 0, "native leaked tensors");
      assert.deepEqual(dtypes("native"), dtypes("cpu"), "dtypes differ");
      actual.values.forEach((values, k) => {
        const { worst, at } = mismatch(values, expected.values[k]!, 1e-5, 1e-4);
        assert.ok(worst <= 1, `output ${k}: native ${values[at]} vs cpu ${expected.values[k]![at]} at ${at} (length ${values.length} vs ${expected.values[k]!.length})`);
      });
    });
  }
});

describe("nearestCenter's lane kernel (native/src/nearest.cc) against its GEMM + argmax path", () => {
  it("picks the same winners on CLUE_nano's pooling shapes (pooled centers, planted duplicates) and ragged ones", async () => {
    await loadBackend("native");
    await tf.setBackend("native");
    const addon = (tf.backend() as NativeBackend).addon;
    // [groups, grid side, pooled side, d]: centers are window means of the points, as cluster pooling makes them.
    for (const [g, side, out, d] of [[4, 32, 16, 16], [4, 16, 8, 32], [4, 8, 4, 64], [3, 15, 5, 7], [2, 9, 3, 1]] as const) {
      const n = side * side, m = out * out, k = side / out;
      const x = seeded(g * n * d, 200 + d);
      const c = new Float32Array(g * m * d);
      for (let q = 0; q < g; q++)
        for (let i = 0; i < side; i++)
          for (let j = 0; j < side; j++)
            for (let p = 0; p < d; p++) c[((q * out + Math.floor(i / k)) * out + Math.floor(j / k)) * d + p]! += x[((q * side + i) * side + j) * d + p]!;
      if (m > 9) c.copyWithin(9 * d, 2 * d, 3 * d); // center 9 repeats center 2 (a tie across blocks of 8)
      const kernel = new Int32Array(g * n).fill(-1), viaGemm = new Int32Array(g * n).fill(-1);
      addon.nearestCenter(kernel, x, c, g, n, m, d);
      addon.nearestCenter(viaGemm, x, c, g, n, m, d, 1);
      const differ = kernel.findIndex((v, i) => v !== viaGemm[i]);
      assert.equal(differ, -1, `[${g}, ${n}, ${d}] → ${m}: point ${differ} gets ${kernel[differ]} from the kernel, ${viaGemm[differ]} from the GEMM path`);
    }
  });
});

describe("native backend memory", () => {
  before(async () => {
    await loadBackend("native");
  });

  it("recycles kernel outputs, but never a buffer user code holds", async () => {
    await tf.setBackend("native");
    const backend = tf.backend() as NativeBackend;
    const x = tf.fill([256, 64], 2); // 64 KiB: pooled
    const y = tf.mul(x, 3);
    const held = y.dataSync(); // escapes: y's buffer is never recycled
    y.dispose();
    const hits = backend.pool.hits;
    const z = tf.mul(x, 5); // same size: reuses a recycled buffer, not y's
    const w = tf.mul(x, 7);
    assert.ok(backend.pool.hits > hits || backend.pool.misses > 0);
    assert.equal(held[0], 6, "values read with dataSync stay intact after dispose and later kernels");
    assert.equal(held[held.length - 1], 6);
    tf.dispose([x, z, w]);
  });

  it("a tensor viewing part of a pooled buffer keeps it alive", async () => {
    await tf.setBackend("native");
    const cpuSlice = tf.getKernel("Slice", "cpu")!;
    const x = tf.mul(tf.fill([512, 32], 1), tf.range(0, 512).reshape([512, 1])); // pooled output
    // The cpu kernels (which the native backend falls back to) return contiguous slices as views.
    const info = cpuSlice.kernelFunc({ inputs: { x }, backend: tf.backend(), attrs: { begin: [100, 0], size: [10, 32] } }) as tf.TensorInfo;
    const view = tf.engine().makeTensorFromTensorInfo(info);
    x.dispose();
    const churn = Array.from({ length: 4 }, () => tf.mul(tf.fill([512, 32], 9), 1)); // would reuse x's buffer
    const values = await view.data();
    assert.equal(values[0], 100);
    assert.equal(values[values.length - 1], 109);
    tf.dispose([view, ...churn]);
  });

  it("a training step leaks no tensors and the loss goes down", async () => {
    await tf.setBackend("native");
    const before = tf.memory().numTensors;
    const [w1, w2, x, y] = tf.tidy(() => [
      tf.variable(t([3, 3, 1, 8], 40, -0.3, 0.3)),
      tf.variable(t([8, 10], 41, -0.3, 0.3)),
      t([16, 12, 12, 1], 42, 0, 1),
      tf.oneHot(ints([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5]) as tf.Tensor1D, 10),
    ]);
    const optimizer = tf.train.adam(0.02);
    const loss = () => tf.tidy(() => tf.losses.softmaxCrossEntropy(y, tf.matMul(tf.mean(tf.relu(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, "same")), [1, 2]), w2)) as tf.Scalar);
    optimizer.minimize(loss)?.dispose();
    const settled = tf.memory().numTensors;
    const losses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const l = optimizer.minimize(loss, true)!;
      losses.push((await l.data())[0]!);
      l.dispose();
      assert.equal(tf.memory().numTensors, settled, `step ${i} leaked`);
    }
    assert.ok(losses.at(-1)! < losses[0]!, `loss did not go down: ${losses.join(", ")}`);
    optimizer.dispose();
    tf.dispose([w1, w2, x, y]);
    assert.equal(tf.memory().numTensors, before);
  });
});

describe("hand-written depthwise kernels (native/src/depthwise.cc)", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
  });

  type Pad = "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]];
  interface DwCase { x: number[]; f: number[]; strides: number | [number, number]; pad: Pad; dilations?: number; rounding?: "ceil" | "floor" }
  const asymmetric: Pad = [[0, 0], [2, 0], [1, 2], [0, 0]];

  // Through TensorFlow.js, native against cpu: shapes the router sends to the hand-written kernels
  // (16·k channels), forward and both gradient kernels as the gradient code calls them.
  const ROUTED: DwCase[] = [
    { x: [2, 10, 9, 16], f: [3, 3, 16, 1], strides: 1, pad: "same" },
    { x: [1, 11, 10, 32], f: [3, 3, 32, 1], strides: 2, pad: asymmetric },
    { x: [3, 8, 12, 16], f: [5, 3, 16, 1], strides: 1, pad: "valid" },
    { x: [1, 9, 9, 48], f: [3, 3, 48, 1], strides: [2, 1], pad: "same" },
  ];
  for (const c of ROUTED) {
    it(`x ${c.x.join("×")}, filter ${c.f.join("×")}, strides ${c.strides}, pad ${JSON.stringify(c.pad)}: forward, dx, dFilter equal cpu's`, async () => {
      const run = () => tf.tidy(() => {
        const x = t(c.x, 50) as tf.Tensor4D, f = t(c.f, 51) as tf.Tensor4D;
        const y = tf.depthwiseConv2d(x, f, c.strides, c.pad as "same");
        const dy = t(y.shape, 52);
        const attrs = { strides: c.strides, pad: c.pad, dilations: 1 };
        const dx = tf.engine().runKernel("DepthwiseConv2dNativeBackpropInput", { dy, filter: f }, { ...attrs, inputShape: c.x }) as tf.Tensor;
        const dW = tf.engine().runKernel("DepthwiseConv2dNativeBackpropFilter", { x, dy }, { ...attrs, filterShape: c.f }) as tf.Tensor;
        return [y, dx, dW];
      });
      const expected = await computeOn("cpu", run);
      const actual = await computeOn("native", run);
      assert.equal(actual.leaked, 0, "native leaked tensors");
      actual.values.forEach((values, k) => {
        const { worst, at } = mismatch(values, expected.values[k]!, 1e-5, 1e-4);
        assert.ok(worst <= 1, `${["y", "dx", "dFilter"][k]}: native ${values[at]} vs cpu ${expected.values[k]![at]} at ${at}`);
      });
    });
  }

  // The addon's kernels called directly for every mode, against oneDNN's grouped convolution
  // (addon.conv): shapes the router keeps on oneDNN too (odd channel counts, dilation, ceil
  // rounding, 1×1 and 5×5 filters), which cpu's gradient kernels cannot check (they ignore dilation).
  const DIRECT: DwCase[] = [
    { x: [2, 7, 9, 3], f: [3, 3, 3, 1], strides: 1, pad: "same" },
    { x: [1, 13, 11, 24], f: [3, 3, 24, 1], strides: 2, pad: asymmetric },
    { x: [2, 9, 8, 17], f: [3, 3, 17, 1], strides: 1, pad: "same", dilations: 2 },
    { x: [1, 10, 10, 80], f: [5, 5, 80, 1], strides: 2, pad: 1, rounding: "ceil" },
    { x: [2, 6, 5, 20], f: [1, 1, 20, 1], strides: 1, pad: "valid" },
    { x: [1, 4, 4, 64], f: [3, 3, 64, 1], strides: 1, pad: "same" },
    { x: [2, 12, 19, 16], f: [3, 3, 16, 1], strides: 1, pad: "same" },
    // whole rows of 64 channels at a time (filter gradient at unit stride), with their edges
    { x: [2, 6, 11, 80], f: [3, 3, 80, 1], strides: 1, pad: "valid" },
    { x: [1, 5, 9, 128], f: [3, 3, 128, 1], strides: 1, pad: asymmetric },
    { x: [1, 3, 2, 64], f: [3, 3, 64, 1], strides: 1, pad: "same" },
  ];
  /** The addon, the parameter block and seeded x, filter and dy for a case. */
  async function direct(c: DwCase, seed: number) {
    await tf.setBackend("native");
    const addon = (tf.backend() as NativeBackend).addon;
    const info = tf.backend_util.computeConv2DInfo(c.x as [number, number, number, number], c.f as [number, number, number, number], c.strides,
      c.dilations ?? 1, c.pad as "same", c.rounding, true);
    const params = convParams(info, info.inChannels);
    const x = seeded(info.inShape.reduce((a, b) => a * b, 1), seed), f = seeded(c.f.reduce((a, b) => a * b, 1), seed + 1);
    const dy = seeded(info.outShape.reduce((a, b) => a * b, 1), seed + 2);
    return { addon, info, params, x, f, dy };
  }

  for (const c of DIRECT) {
    it(`addon.depthwise equals oneDNN: x ${c.x.join("×")}, filter ${c.f.join("×")}, strides ${c.strides}, pad ${JSON.stringify(c.pad)}, dilation ${c.dilations ?? 1}${c.rounding ? `, ${c.rounding}` : ""}`, async () => {
      const { addon, params, x, f, dy } = await direct(c, 60);
      const modes = [
        { name: "y", mode: CONV.forward, size: dy.length, in1: x, in2: f },
        { name: "dx", mode: CONV.backwardData, size: x.length, in1: dy, in2: f },
        { name: "dFilter", mode: CONV.backwardWeights, size: f.length, in1: x, in2: dy },
      ];
      for (const m of modes) {
        const mine = new Float32Array(m.size).fill(NaN), reference = new Float32Array(m.size);
        addon.depthwise(m.mode, mine, m.in1, m.in2, params);
        addon.conv(m.mode, reference, m.in1, m.in2, params);
        const { worst, at } = mismatch(mine, reference, 1e-5, 1e-4);
        assert.ok(worst <= 1, `${m.name}: depthwise ${mine[at]} vs oneDNN ${reference[at]} at ${at}`);
      }
    });
  }

  // depthwiseGrad (dx, dFilter, dBias in one sweep) against modes 1 and 2 bit for bit (same taps,
  // same chunks, same order of summation), for one and two threads, and dBias against Σ dy in doubles.
  // [4, 33, 32, 32]: 132 output rows cut into 8 chunks of 16–17 rows, several 4-row steps each.
  for (const c of [...ROUTED, ...DIRECT, { x: [4, 33, 32, 32], f: [3, 3, 32, 1], strides: 1, pad: "same" } as DwCase]) {
    it(`addon.depthwiseGrad equals modes 1 and 2 for 1 and 2 threads: x ${c.x.join("×")}, filter ${c.f.join("×")}, strides ${c.strides}, pad ${JSON.stringify(c.pad)}, dilation ${c.dilations ?? 1}${c.rounding ? `, ${c.rounding}` : ""}`, async () => {
      const { addon, info, params, x, f, dy } = await direct(c, 70);
      const C = info.inChannels;
      const dxRef = new Float32Array(x.length), dWRef = new Float32Array(f.length), dBRef = new Float64Array(C);
      addon.depthwise(CONV.backwardData, dxRef, dy, f, params);
      addon.depthwise(CONV.backwardWeights, dWRef, x, dy, params);
      dy.forEach((v, i) => (dBRef[i % C] += v));
      const threads = addon.info().threads;
      try {
        for (const n of [1, 2]) {
          addon.setThreads(n);
          const dx = new Float32Array(x.length).fill(NaN), dW = new Float32Array(f.length).fill(NaN), dB = new Float32Array(C).fill(NaN);
          addon.depthwiseGrad(dx, dW, dB, dy, x, f, params);
          assert.deepEqual(dx, dxRef, `dx differs from mode 1 with ${n} threads`);
          assert.deepEqual(dW, dWRef, `dFilter differs from mode 2 with ${n} threads`);
          // a float32 running sum over the pixels of each chunk: error grows with their count
          const { worst, at } = mismatch(dB, Float32Array.from(dBRef), 1e-6 * (dy.length / C), 1e-5);
          assert.ok(worst <= 1, `dBias ${dB[at]} vs Σ dy ${dBRef[at]} at ${at} with ${n} threads`);
        }
      } finally {
        addon.setThreads(threads);
      }
    });
  }

  it("routes multiplier 1 with 16·k channels to the hand-written kernels, everything else to oneDNN", () => {
    const info = (x: number[], f: number[], strides: number, dilation = 1) =>
      tf.backend_util.computeConv2DInfo(x as [number, number, number, number], f as [number, number, number, number], strides, dilation, "same", undefined, true);
    assert.equal(handWritten(CONV.backwardData, info([64, 32, 32, 64], [3, 3, 64, 1], 1)), true);
    assert.equal(handWritten(CONV.forward, info([64, 32, 32, 64], [3, 3, 64, 1], 1)), true);
    assert.equal(handWritten(CONV.forward, info([64, 4, 4, 512], [3, 3, 512, 1], 1)), false);
    assert.equal(handWritten(CONV.backwardWeights, info([64, 32, 32, 64], [3, 3, 64, 1], 1)), false);
    assert.equal(handWritten(CONV.backwardWeights, info([64, 32, 32, 64], [3, 3, 64, 1], 2)), true);
    assert.equal(handWritten(CONV.backwardData, info([64, 32, 32, 24], [3, 3, 24, 1], 1)), false);
    assert.equal(handWritten(CONV.backwardData, info([64, 32, 32, 16], [3, 3, 16, 2], 1)), false);
    assert.equal(handWritten(CONV.forward, info([64, 32, 32, 64], [3, 3, 64, 1], 1, 2)), false);
    // depthwiseConv2dBias's gradients in one sweep: 32+ channels in 16s, rows 8+ wide or strided
    assert.equal(oneSweepGradients(info([64, 32, 32, 64], [3, 3, 64, 1], 1)), true);
    assert.equal(oneSweepGradients(info([64, 16, 16, 64], [3, 3, 64, 1], 2)), true);
    assert.equal(oneSweepGradients(info([64, 32, 32, 16], [3, 3, 16, 1], 1)), false);
    assert.equal(oneSweepGradients(info([64, 4, 4, 512], [3, 3, 512, 1], 1)), false);
    assert.equal(oneSweepGradients(info([64, 15, 13, 24], [3, 3, 24, 1], 1)), false);
  });
});

describe("narrow dense convolutions (native/src/narrowconv.cc): forward with bias and filter gradient over few input channels", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
  });

  type Pad = "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]];
  interface NarrowCase { x: number[]; f: number[]; strides: number | [number, number]; pad: Pad; rounding?: "ceil" | "floor" }
  const asymmetric: Pad = [[0, 0], [2, 0], [1, 2], [0, 0]];
  const label = (c: NarrowCase) => `x ${c.x.join("×")}, filter ${c.f.join("×")}, strides ${c.strides}, pad ${JSON.stringify(c.pad)}${c.rounding ? `, ${c.rounding}` : ""}`;
  // fw·ci of 3, 6, 9 and 12; rows that need every block width (31 = 16 + 8 + 4 + 3 pixels);
  // taller and one-column filters; strides, asymmetric and zero padding; several 16-channel blocks.
  const CASES: NarrowCase[] = [
    { x: [2, 7, 9, 3], f: [3, 3, 3, 16], strides: 1, pad: "same" },
    { x: [1, 11, 10, 1], f: [3, 3, 1, 32], strides: 2, pad: asymmetric },
    { x: [3, 8, 5, 2], f: [3, 3, 2, 16], strides: [1, 2], pad: "valid" },
    { x: [2, 9, 9, 4], f: [3, 3, 4, 48], strides: 2, pad: 1 },
    { x: [2, 10, 7, 3], f: [5, 1, 3, 16], strides: 1, pad: "same" },
    { x: [1, 6, 31, 3], f: [3, 3, 3, 16], strides: 1, pad: 1 },
    { x: [2, 5, 4, 3], f: [3, 3, 3, 32], strides: [2, 3], pad: asymmetric },
  ];

  for (const c of CASES) {
    it(`${label(c)}: conv2dBias and its gradients (filter gradient routed here) equal cpu's`, async () => {
      const run = () => tf.tidy(() => {
        const x = t(c.x, 80) as tf.Tensor4D, f = t(c.f, 81) as tf.Tensor4D, b = t([c.f[3]!], 82) as tf.Tensor1D;
        const conv = (a: tf.Tensor, k: tf.Tensor, bb: tf.Tensor) => conv2dBias(a as tf.Tensor4D, k as tf.Tensor4D, bb as tf.Tensor1D, c.strides as number, c.pad as "same");
        const y = conv(x, f, b);
        const wy = t(y.shape, 83);
        const plain = tf.conv2d(x, f, c.strides, c.pad as "same");
        return [y, plain, ...tf.grads((a: tf.Tensor, k: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(conv(a, k, bb), wy)))([x, f, b])];
      });
      const expected = await computeOn("cpu", run);
      const actual = await computeOn("native", run);
      assert.equal(actual.leaked, 0, "native leaked tensors");
      actual.values.forEach((values, k) => {
        const { worst, at } = mismatch(values, expected.values[k]!, 1e-5, 1e-4);
        assert.ok(worst <= 1, `${["y", "conv2d", "dx", "dFilter", "dBias"][k]}: native ${values[at]} vs cpu ${expected.values[k]![at]} at ${at}`);
      });
    });
  }

  // Called directly against oneDNN (addon.conv), including ceil rounding (cpu has no such
  // gradient kernel); the filter gradient bit for bit the same for 1 and 2 threads.
  for (const c of [...CASES, { x: [1, 10, 10, 3], f: [3, 3, 3, 16], strides: 2, pad: 1, rounding: "ceil" } as NarrowCase,
    { x: [4, 33, 32, 3], f: [3, 3, 3, 16], strides: 1, pad: 1 } as NarrowCase]) {
    it(`addon.narrowConv equals oneDNN and is deterministic for 1 and 2 threads: ${label(c)}`, async () => {
      await tf.setBackend("native");
      const addon = (tf.backend() as NativeBackend).addon;
      const info = tf.backend_util.computeConv2DInfo(c.x as [number, number, number, number], c.f as [number, number, number, number], c.strides, 1,
        c.pad as "same", c.rounding, false);
      const params = convParams(info, 1);
      assert.equal(narrowDense(CONV.forward, info) && narrowDense(CONV.backwardWeights, info), true);
      const x = seeded(info.inShape.reduce((a, b) => a * b, 1), 90), f = seeded(c.f.reduce((a, b) => a * b, 1), 91);
      const dy = seeded(info.outShape.reduce((a, b) => a * b, 1), 92), bias = seeded(info.outChannels, 93);
      const threads = addon.info().threads;
      try {
        const dWs: Float32Array[] = [];
        for (const n of [1, 2]) {
          addon.setThreads(n);
          for (const withBias of [true, false]) {
            const y = new Float32Array(dy.length).fill(NaN), yRef = new Float32Array(dy.length);
            addon.narrowConv(CONV.forward, y, x, f, params, withBias ? bias : null);
            addon.conv(CONV.forward, yRef, x, f, params, withBias ? bias : null);
            const { worst, at } = mismatch(y, yRef, 1e-5, 1e-4);
            assert.ok(worst <= 1, `y (bias ${withBias}, ${n} threads): narrowConv ${y[at]} vs oneDNN ${yRef[at]} at ${at}`);
          }
          const dW = new Float32Array(f.length).fill(NaN), dWRef = new Float32Array(f.length);
          addon.narrowConv(CONV.backwardWeights, dW, x, dy, params);
          addon.conv(CONV.backwardWeights, dWRef, x, dy, params);
          const { worst, at } = mismatch(dW, dWRef, 1e-4, 1e-4);
          assert.ok(worst <= 1, `dFilter (${n} threads): narrowConv ${dW[at]} vs oneDNN ${dWRef[at]} at ${at}`);
          dWs.push(dW);
        }
        assert.deepEqual(dWs[1], dWs[0], "the filter gradient differs between 1 and 2 threads");
      } finally {
        addon.setThreads(threads);
      }
    });
  }

  it("routes 3×3 filters over 1–4 channels with 16·k outputs (forward, filter gradient) here, everything else to oneDNN", async () => {
    const info = (x: number[], f: number[], strides: number, dilation = 1) =>
      tf.backend_util.computeConv2DInfo(x as [number, number, number, number], f as [number, number, number, number], strides, dilation, "same", undefined, false);
    const stem = info([64, 32, 32, 3], [3, 3, 3, 16], 1);
    assert.equal(narrowDense(CONV.forward, stem), true);
    assert.equal(narrowDense(CONV.backwardWeights, stem), true);
    assert.equal(narrowDense(CONV.backwardData, stem), false);
    assert.equal(narrowDense(CONV.forward, info([64, 32, 32, 16], [3, 3, 16, 32], 2)), false);
    assert.equal(narrowDense(CONV.forward, info([64, 32, 32, 3], [3, 3, 3, 24], 1)), false);
    assert.equal(narrowDense(CONV.forward, info([64, 32, 32, 3], [5, 5, 3, 16], 1)), false);
    assert.equal(narrowDense(CONV.forward, info([64, 32, 32, 3], [3, 3, 3, 16], 1, 2)), false);
    // the addon refuses what it has no kernel for, saying what to use instead
    await tf.setBackend("native");
    const addon = (tf.backend() as NativeBackend).addon;
    const params = (i: tf.backend_util.Conv2DInfo) => convParams(i, 1);
    const wide = info([1, 4, 4, 5], [3, 3, 5, 16], 1), odd = info([1, 4, 4, 3], [3, 3, 3, 8], 1);
    const buf = (n: number) => new Float32Array(n);
    assert.throws(() => addon.narrowConv(CONV.forward, buf(256), buf(80), buf(720), params(wide)), /filter width × input channels must be 3, 6, 9 or 12/);
    assert.throws(() => addon.narrowConv(CONV.forward, buf(128), buf(48), buf(216), params(odd)), /multiple of 16/);
    assert.throws(() => addon.narrowConv(CONV.backwardData, buf(48), buf(256), buf(432), params(stem)), /mode must be 0 \(forward\) or 2/);
  });
});
