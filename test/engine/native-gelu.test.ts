/**
 * The native GELU math (native/src/gelu.h: Φ and φ from one exp(−x²/2), the tail Φ(−|x|) as that
 * exp times a polynomial in 1/(1 + 0.33|x|)) against a double-precision reference over floats
 * spread across [−20, 20], and depthwise.cc's depthwiseGelu (the convolution and GELU a few rows
 * at a time, the derivative streamed out) against the convolution followed by the GELU kernel.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { tf } from "../../lib/engine/index.js";
import type { NativeBackend } from "../../lib/engine/native/backend.js";
import type { NativeAddon } from "../../lib/engine/native/addon.js";
import { CONV, convParams } from "../../lib/engine/native/kernels/conv.js";
import { loadBackend, seeded } from "../helpers/backends.js";

/** erfc(u) for u >= 0 in double: the power series of erf below 2.5 (loses ~3 of 16 digits), a continued fraction above. */
function erfc(u: number): number {
  if (u < 2.5) {
    let term = u, sum = u;
    for (let n = 1; n < 80; n++) {
      term *= (-u * u) / n;
      sum += term / (2 * n + 1);
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(u) = e^{−u²}/√π · 1/(u + (1/2)/(u + 1/(u + (3/2)/(u + …)))), from the tail up
  let f = u;
  for (let k = 60; k >= 1; k--) f = u + k / 2 / f;
  return Math.exp(-u * u) / Math.sqrt(Math.PI) / f;
}

/** Φ(x) in double. */
const cdf = (x: number) => (x < 0 ? 0.5 * erfc(-x / Math.SQRT2) : 1 - 0.5 * erfc(x / Math.SQRT2));

/** Every `step`-th float (by bit pattern) in [−limit, limit]. */
function floatsUpTo(limit: number, step: number): Float32Array {
  const top = new Uint32Array(new Float32Array([limit]).buffer)[0]!;
  const bits: number[] = [];
  for (let b = 0; b <= top; b += step) bits.push(b, (b | 0x80000000) >>> 0);
  return new Float32Array(new Uint32Array(bits).buffer);
}

let addon: NativeAddon;

describe("native GELU", () => {
  before(async () => {
    await loadBackend("native");
    await tf.setBackend("native");
    addon = (tf.backend() as NativeBackend).addon;
  });

  it("the reference: erfc in double against known values", () => {
    // Φ(−1), Φ(−3), Φ(−6), Φ(−10) from tables to 9+ significant digits
    const known: Array<[number, number]> = [[-1, 0.158655253931457], [-3, 1.3498980316301e-3], [-6, 9.86587645037698e-10], [-10, 7.61985302416047e-24]];
    for (const [x, p] of known) assert.ok(Math.abs(cdf(x) - p) <= 1e-12 * p, `Φ(${x}) = ${cdf(x)}, not ${p}`);
    assert.ok(Math.abs(cdf(0.5) + cdf(-0.5) - 1) < 1e-15);
  });

  it("gelu and gelu' are within a few float roundings of the exact values over [−20, 20], tails included", () => {
    const x = floatsUpTo(20, 2999); // ~720 K floats, every binade down to the denormals
    const y = new Float32Array(x.length), slope = new Float32Array(x.length), dx = new Float32Array(x.length);
    addon.gelu(y, x, slope);
    addon.geluGrad(dx, new Float32Array(x.length).fill(1), x);
    let worstY = 0, worstS = 0, at = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!, p = cdf(v), pdf = Math.exp((-v * v) / 2) / Math.sqrt(2 * Math.PI);
      const gy = v * p, gs = p + v * pdf;
      // gelu: absolute 1.2e-7 plus relative 1.2e-7 (about two float roundings), and in the
      // negative tail relative 2e-5 (exp(−x²/2) of an x² rounded to float: 117 ulp at x = −12),
      // values below the normal floats (x < −13.16) allowed to come out 0
      const tolY = v < 0 && Math.abs(gy) < 1e-3 ? 2e-5 * Math.abs(gy) + 2e-38 : 1.2e-7 + 1.2e-7 * Math.abs(gy);
      const ey = Math.abs(y[i]! - gy) / tolY;
      if (ey > worstY) (worstY = ey), (at = i);
      // gelu' lies in [−0.17, 1.13]: absolute 2.5e-7
      worstS = Math.max(worstS, Math.abs(slope[i]! - gs) / 2.5e-7);
      if (slope[i] !== dx[i]) assert.fail(`x = ${v}: gelu's slope ${slope[i]} differs from geluGrad's ${dx[i]}`);
    }
    assert.ok(worstY <= 1, `gelu(${x[at]}) = ${y[at]}, exact ${x[at]! * cdf(x[at]!)} (${worstY.toFixed(2)}× the tolerance)`);
    assert.ok(worstS <= 1, `gelu' off by ${worstS.toFixed(2)}× the tolerance`);
  });

  it("NaN stays NaN; far out gelu is x or 0 and gelu' 1 or 0", () => {
    const x = new Float32Array([Number.NaN, 30, -30, 1e30, -1e30]);
    const y = new Float32Array(5), slope = new Float32Array(5);
    addon.gelu(y, x, slope);
    assert.ok(Number.isNaN(y[0]) && Number.isNaN(slope[0]));
    assert.deepEqual([y[1], y[2], y[3], y[4]], [30, -0, 1e30, -0].map(Math.fround));
    assert.deepEqual([slope[1], slope[2]], [1, 0]);
  });
});

describe("native depthwiseGelu", () => {
  before(async () => {
    await loadBackend("native");
    await tf.setBackend("native");
    addon = (tf.backend() as NativeBackend).addon;
  });

  const cases: Array<{ x: [number, number, number, number]; strides: number; pad: number | "valid" }> = [
    { x: [3, 9, 11, 32], strides: 1, pad: 1 },
    { x: [2, 15, 13, 48], strides: 2, pad: 1 },
    { x: [1, 12, 10, 16], strides: 1, pad: "valid" },
    { x: [2, 40, 40, 16], strides: 1, pad: 1 }, // several row steps per chunk
  ];
  for (const c of cases) {
    it(`x ${c.x.join("×")}, stride ${c.strides}, pad ${c.pad}: the convolution then GELU, bit for bit, at any output alignment`, () => {
      const [n, h, w, C] = c.x;
      const info = tf.backend_util.computeConv2DInfo(c.x, [3, 3, C, 1], c.strides, 1, c.pad, undefined, true);
      const params = convParams(info, C);
      const size = n * info.outHeight * info.outWidth * C;
      const x = seeded(n * h * w * C, 1, -2, 2), filter = seeded(9 * C, 2, -0.7, 0.7), bias = seeded(C, 3, -0.5, 0.5);
      const z = new Float32Array(size), y = new Float32Array(size), slope = new Float32Array(size);
      addon.depthwise(CONV.forward, z, x, filter, params, bias);
      addon.gelu(y, z, slope);
      for (const offset of [0, 1, 7, 15]) {
        // views `offset` floats into their buffers: the streamed slope starts off a 64-byte boundary
        const view = () => new Float32Array(new ArrayBuffer((size + offset) * 4), offset * 4, size).fill(Number.NaN);
        const yy = view(), ss = view(), yOnly = view();
        addon.depthwiseGelu(yy, ss, x, filter, bias, params);
        addon.depthwiseGelu(yOnly, null, x, filter, bias, params);
        for (const [name, got, want] of [["y", yy, y], ["slope", ss, slope], ["y without slope", yOnly, y]] as const) {
          const i = got.findIndex((v, k) => !Object.is(v, want[k]));
          assert.equal(i, -1, `offset ${offset}, ${name}[${i}]: ${got[i]} instead of ${want[i]}`);
        }
      }
    });
  }
});
