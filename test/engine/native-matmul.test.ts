import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { tf } from "../../lib/engine/index.js";
import { loadAddon } from "../../lib/engine/native/addon.js";
import { computeOn, loadBackend, mismatch, seeded } from "../helpers/backends.js";

const t = (shape: number[], seed: number) => tf.tensor(seeded(shape.reduce((a, b) => a * b, 1), seed), shape);

/** A [m×k] or [k×m] operand, as transposeA/B reads it. */
const operand = (rows: number, cols: number, transposed: boolean, seed: number) => t(transposed ? [cols, rows] : [rows, cols], seed);

const FLAGS = [[false, false], [true, false], [false, true], [true, true]] as const;

/**
 * The native matmul's paths (native/src/gemm.cc, small_gemm.cc), each against the cpu backend:
 * the bias added in the hand-written kernel's tiles and after oneDNN's product, rows split into
 * pieces over the pool, columns split, and tall inner dimensions summed from partial products
 * (transposed when C has more rows than columns). Every case runs under each routing
 * (addon.gemmPolicy: measured, always oneDNN, always hand-written), so both kernels are checked
 * on the same shapes whichever one the routing picks.
 */
const CASES: Array<{ name: string; run: () => tf.Tensor[] }> = [
  {
    name: "bias in the epilogue, every transpose: ragged columns (one, two and three panels of 64), rows not a multiple of the tile, short and odd k",
    run: () => {
      const out: tf.Tensor[] = [];
      // [m, n, k]: the last vector of a panel partial (21, 70, 150), one row, k = 1, a tile tail (m = 1001)
      for (const [m, n, k] of [[37, 21, 13], [1001, 70, 9], [5, 150, 17], [1, 40, 3], [64, 16, 1], [203, 33, 37]]) {
        for (const [ta, tb] of FLAGS) {
          out.push(tf.fused.matMul({ a: operand(m!, k!, ta, m! + k!), b: operand(k!, n!, tb, n! + 100), transposeA: ta, transposeB: tb, bias: t([n!], n! + 7) }));
        }
      }
      return out;
    },
  },
  {
    name: "rows in pieces over the pool, with the bias (CLUE_nano's 16- and 32-wide linear layers at a row count that is no multiple of 8)",
    run: () => {
      const out: tf.Tensor[] = [];
      // [m, n, k]: more than 1M multiply-adds, so the rows are cut into pieces; n = 16, 64, 32, 48 and 20 columns
      for (const [m, n, k] of [[20011, 16, 16], [6007, 64, 16], [7001, 16, 64], [4099, 32, 128], [9001, 48, 24], [12003, 20, 20]]) {
        for (const [ta, tb] of FLAGS) {
          const a = operand(m!, k!, ta, m! + k!), b = operand(k!, n!, tb, n! + 200);
          out.push(tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias: t([n!], n! + 9) }));
          if (!ta && !tb) out.push(tf.matMul(a, b), tf.fused.matMul({ a, b, bias: t([n!], n! + 10), activation: "relu" }));
        }
      }
      return out;
    },
  },
  {
    name: "columns split over the pool, with the bias (few rows, many columns)",
    run: () => [
      tf.fused.matMul({ a: t([8, 500], 1), b: t([500, 3001], 2), bias: t([3001], 3) }),
      tf.fused.matMul({ a: t([500, 6], 4), b: t([2999, 500], 5), transposeA: true, transposeB: true, bias: t([2999], 6), activation: "relu" }),
    ],
  },
  {
    name: "a tall inner dimension from partial products, every transpose: more rows than columns (summed transposed) and fewer, ragged sizes",
    run: () => {
      const out: tf.Tensor[] = [];
      // [m, n, k]: CLUE_nano's dW 64×16 (fewer pixels), a square one, m > n and m < n with ragged sizes, two panels when transposed (100 > 64)
      for (const [m, n, k] of [[64, 16, 9000], [16, 16, 20000], [40, 12, 9001], [12, 40, 9001], [100, 21, 3001], [33, 70, 2500]]) {
        for (const [ta, tb] of FLAGS) {
          out.push(tf.matMul(operand(m!, k!, ta, m! + 300), operand(k!, n!, tb, n! + 400), ta, tb));
        }
      }
      out.push(tf.fused.matMul({ a: t([9001, 40], 7), b: t([9001, 12], 8), transposeA: true, bias: t([12], 9), activation: "elu" }));
      return out;
    },
  },
  {
    name: "batches with the bias in the epilogue, and an empty inner dimension (the bias alone)",
    run: () => [
      tf.fused.matMul({ a: t([30, 17, 9], 10) as tf.Tensor3D, b: t([30, 9, 21], 11) as tf.Tensor3D, bias: t([21], 12) }),
      tf.fused.matMul({ a: t([6, 300, 40], 13) as tf.Tensor3D, b: t([6, 40, 70], 14) as tf.Tensor3D, transposeB: false, bias: t([70], 15) }),
      tf.fused.matMul({ a: t([4, 9, 2000], 16) as tf.Tensor3D, b: t([1, 2000, 33], 17) as tf.Tensor3D, bias: t([33], 18), activation: "relu" }),
      tf.fused.matMul({ a: tf.zeros([5, 0]) as tf.Tensor2D, b: tf.zeros([0, 3]) as tf.Tensor2D, bias: t([3], 19) }),
    ],
  },
];

const POLICIES = [
  [0, "as routed"],
  [1, "always oneDNN"],
  [2, "always hand-written"],
] as const;

describe("native matmul paths against the cpu backend, under each routing", () => {
  const load = loadAddon();
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
  });
  after(() => {
    if ("addon" in load) load.addon.gemmPolicy(0);
  });

  for (const c of CASES) {
    it(c.name, async () => {
      assert.ok("addon" in load, "the native addon must load for these tests");
      const expected = await computeOn("cpu", () => tf.tidy(() => c.run()));
      for (const [policy, label] of POLICIES) {
        load.addon.gemmPolicy(policy);
        try {
          const actual = await computeOn("native", () => tf.tidy(() => c.run()));
          assert.equal(actual.leaked, 0, `${label}: native leaked tensors`);
          actual.values.forEach((values, k) => {
            const { worst, at } = mismatch(values, expected.values[k]!, 1e-4, 1e-4);
            assert.ok(worst <= 1, `${label}, output ${k}: native ${values[at]} vs cpu ${expected.values[k]![at]} at ${at} (length ${values.length} vs ${expected.values[k]!.length})`);
          });
        } finally {
          load.addon.gemmPolicy(0);
        }
      }
    });
  }

  it("gemmPolicy refuses values other than 0, 1 and 2", () => {
    assert.ok("addon" in load);
    assert.throws(() => load.addon.gemmPolicy(3), /gemmPolicy: need 0/);
  });
});

/**
 * matmulSum (a layer pair's dx = dy1·w1ᵀ + dy2·w2ᵀ) on each of matmul's paths: rows in pieces
 * (every term per piece), and otherwise term after term accumulated — columns split, a tall
 * inner dimension from partial products, one unsplit product — against the cpu backend's
 * products and Add, under each routing, with terms of different inner sizes.
 */
describe("native matmulSum against the cpu backend's products and Add, under each routing", () => {
  const load = loadAddon();
  before(async () => {
    await loadBackend("cpu");
  });
  after(() => {
    if ("addon" in load) load.addon.gemmPolicy(0);
  });

  // [m, n, inner sizes]
  const SHAPES: Array<[string, number, number, number[]]> = [
    ["rows in pieces (CLUE_nano's K/V input gradient, 16 wide)", 20011, 16, [16, 16]],
    ["rows in pieces, inner sizes 32 and 48, three terms", 6007, 32, [32, 48, 5]],
    ["columns split", 8, 3001, [500, 300]],
    ["a tall inner dimension from partial products", 16, 40, [9001, 7001]],
    ["one small product", 5, 3, [2, 7]],
  ];

  for (const [name, m, n, ks] of SHAPES) {
    it(name, async () => {
      assert.ok("addon" in load, "the native addon must load for these tests");
      for (const [ta, tb] of FLAGS) {
        const terms = ks.map((k, i) => [seeded(m * k, 10 * i + 1), seeded(k * n, 10 * i + 2), k] as const);
        const expected = await computeOn("cpu", () => [
          tf.tidy(() => terms.map(([a, b, k]) => tf.matMul(tf.tensor(a, ta ? [k, m] : [m, k]) as tf.Tensor2D, tf.tensor(b, tb ? [n, k] : [k, n]) as tf.Tensor2D, ta, tb)).reduce((s, p) => tf.add(s, p))),
        ]);
        for (const [policy, label] of POLICIES) {
          load.addon.gemmPolicy(policy);
          try {
            const out = new Float32Array(m * n).fill(Number.NaN);
            load.addon.matmulSum(out, m, n, ta ? 1 : 0, tb ? 1 : 0, ...terms.flat());
            const { worst, at } = mismatch(out, expected.values[0]!, 1e-4, 1e-4);
            assert.ok(worst <= 1, `${label}, transposes ${ta}/${tb}: ${out[at]} vs ${expected.values[0]![at]} at ${at}`);
          } finally {
            load.addon.gemmPolicy(0);
          }
        }
      }
    });
  }

  it("refuses an incomplete term", () => {
    assert.ok("addon" in load);
    const x = new Float32Array(4);
    assert.throws(() => load.addon.matmulSum(x, 2, 2, 0, 0, x, x), /matmulSum: need out, m, n, transA, transB, then \(a, b, k\) per term/);
  });
});
