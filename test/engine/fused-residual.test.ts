import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { tf } from "../../lib/engine/index.js";
import { referenceResidual, residual } from "../../lib/engine/fused/index.js";
import { dropPath, dropPathMask } from "../../lib/nn/drop-path.js";
import { Rng } from "../../lib/nn/rng.js";
import { computeOn, loadBackend, mismatch, seeded } from "../helpers/backends.js";

const t = (shape: number[], seed: number, lo = -1, hi = 1) => tf.tensor(seeded(shape.reduce((a, b) => a * b, 1), seed, lo, hi), shape);

/** Drop path's factors for `batch` samples at rate 0.25 (some 0, the rest 4/3), from a fixed seed. */
const maskFor = (batch: number, seed: number) => dropPathMask(batch, 0.25, true, new Rng(seed))!;

interface Case {
  shape: number[];
  scale: boolean;
  mask: boolean;
}

// Odd sizes, sizes cut into chunks over the pool (over 2^15 elements; with a scale, the chunks'
// partial sums of dscale are added together), channels 1 and rank 2 and 3.
const CASES: Case[] = [
  { shape: [3, 5, 7, 13], scale: true, mask: true },
  { shape: [3, 5, 7, 13], scale: true, mask: false },
  { shape: [3, 5, 7, 13], scale: false, mask: true },
  { shape: [3, 5, 7, 13], scale: false, mask: false },
  { shape: [9, 37, 29, 24], scale: true, mask: true },
  { shape: [9, 37, 29, 24], scale: false, mask: true },
  { shape: [64, 16, 16, 32], scale: true, mask: false },
  { shape: [600, 70], scale: true, mask: true },
  { shape: [5, 301, 1], scale: true, mask: true },
];

/**
 * The op's value and its gradients w.r.t. x, branch (and scale) for the upstream gradient w (a
 * seeded weighting, so each element's upstream gradient differs), through `op`.
 */
function valueAndGradients(c: Case, op: typeof residual): tf.Tensor[] {
  return tf.tidy(() => {
    const x = t(c.shape, 1), branch = t(c.shape, 2, -3, 3);
    const scale = c.scale ? (t([c.shape.at(-1)!], 3, 0.5, 2) as tf.Tensor1D) : null;
    const mask = c.mask ? maskFor(c.shape[0]!, 4) : null;
    const w = t(c.shape, 5, 0.5, 1.5);
    const inputs = scale ? [x, branch, scale] : [x, branch];
    const f = (...xs: tf.Tensor[]) => op(xs[0]!, xs[1]!, (xs[2] as tf.Tensor1D | undefined) ?? null, mask);
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), w)))(inputs);
    return [f(...inputs), ...grads];
  });
}

const describeCase = (c: Case) => `${c.shape.join("×")}${c.scale ? ", layer scale" : ""}${c.mask ? ", drop-path mask" : ""}`;
const NAMES = ["value", "dx", "dbranch", "dscale"];

describe("fused residual: the native kernels equal the reference composition on cpu", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
  });

  for (const c of CASES) {
    it(describeCase(c), async () => {
      const expected = await computeOn("cpu", () => valueAndGradients(c, referenceResidual));
      const actual = await computeOn("native", () => valueAndGradients(c, residual));
      assert.equal(actual.leaked, 0, "native leaked tensors");
      assert.equal(actual.values.length, expected.values.length);
      // Same products in the same order: the value and dbranch are exact, dx is dy itself; only
      // dscale (a long sum) may differ in its last bits.
      actual.values.forEach((values, k) => {
        const exact = NAMES[k] !== "dscale";
        const { worst, at } = mismatch(values, expected.values[k]!, exact ? 0 : 1e-6, exact ? 0 : 1e-5);
        assert.ok(exact ? at === -1 : worst <= 1, `${NAMES[k]}: native ${values[at]} vs cpu ${expected.values[k]![at]} at ${at}`);
      });
    });
  }

  it("dscale sums over the batch with the mask: a dropped sample adds nothing, a kept one 1/keep times", async () => {
    await tf.setBackend("native");
    const before = tf.memory().numTensors;
    const mask = new Float32Array([0, 2, 0.5]);
    const [dscale] = tf.tidy(() => {
      const branch = tf.tensor3d([1, 2, 3, 4, 5, 6], [3, 1, 2]);
      return tf.grads((s: tf.Tensor) => tf.sum(residual(tf.zeros([3, 1, 2]), branch, s as tf.Tensor1D, mask)))([tf.ones([2])]);
    });
    assert.deepEqual(Array.from(await dscale!.data()), [0 * 1 + 2 * 3 + 0.5 * 5, 0 * 2 + 2 * 4 + 0.5 * 6]);
    dscale!.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it("hands dy on to x as it is, with no kernel", async () => {
    await tf.setBackend("native");
    const x = t([3, 4, 5], 14), branch = t([3, 4, 5], 15), scale = t([5], 16) as tf.Tensor1D, w = t([3, 4, 5], 17);
    for (const s of [scale, null]) {
      let grads: tf.Tensor[] = [];
      const profile = await tf.profile(() => {
        grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(residual(a, b, s, maskFor(3, 18)), w)))([x, branch]);
      });
      assert.deepEqual(Array.from(grads[0]!.dataSync()), Array.from(w.dataSync()));
      const seen = profile.kernels.map((k) => k.name);
      // The one Reshape is tf.sum's gradient's.
      assert.equal(seen.filter((k) => k === "Reshape").length, 1, `kernels run: ${seen.join(", ")}`);
      tf.dispose(grads);
    }
    tf.dispose([x, branch, scale, w]);
  });

  it("repeated training-style steps on variables leak no tensors", async () => {
    await tf.setBackend("native");
    const x = tf.variable(t([4, 6, 6, 8], 10)), branch = tf.variable(t([4, 6, 6, 8], 11)), scale = tf.variable(t([8], 12));
    const settle = () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(residual(x, branch, scale as tf.Tensor1D, maskFor(4, 13)))) as tf.Scalar);
      tf.dispose([value, ...Object.values(grads)]);
    };
    settle();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) settle();
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, branch, scale]);
  });
});

describe("fused residual on cpu: the composition the blocks spelled before", () => {
  before(async () => {
    await loadBackend("cpu");
  });

  it("equals x + dropPath(branch·scale) with the same coin flips from the same seed, value and gradients", async () => {
    const shape = [16, 3, 4, 5];
    const run = (fused: boolean) => () =>
      tf.tidy(() => {
        const rng = new Rng(21);
        const x = t(shape, 22), branch = t(shape, 23), scale = t([5], 24) as tf.Tensor1D;
        const f = (a: tf.Tensor, b: tf.Tensor, s: tf.Tensor) =>
          fused
            ? residual(a, b, s as tf.Tensor1D, dropPathMask(shape[0]!, 0.3, true, rng))
            : tf.add(a, dropPath(tf.mul(b, s), 0.3, true, rng));
        const w = t(shape, 25);
        return tf.grads((a: tf.Tensor, b: tf.Tensor, s: tf.Tensor) => tf.sum(tf.mul(f(a, b, s), w)))([x, branch, scale]).concat(f(x, branch, scale));
      });
    const old = await computeOn("cpu", run(false));
    const fused = await computeOn("cpu", run(true));
    assert.equal(fused.leaked, 0);
    fused.values.forEach((values, k) => assert.deepEqual(values, old.values[k], `output ${k} differs`));
  });

  it("draws no coin flips where drop path is the identity", () => {
    const rng = new Rng(5);
    assert.equal(dropPathMask(8, 0.2, false, rng), null);
    assert.equal(dropPathMask(8, 0, true, rng), null);
    assert.equal(rng.uniform(), new Rng(5).uniform());
  });
});

describe("fused residual: bad inputs", () => {
  for (const backend of ["cpu", "native"] as const) {
    it(`${backend}: shape, dtype, scale and mask mismatches are clear errors`, async () => {
      await loadBackend(backend);
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const x = tf.zeros([2, 3, 4]), wide = tf.zeros([2, 3, 5]), flat = tf.zeros([4]), ints = tf.zeros([2, 3, 4], "int32");
      const scale = tf.ones([4]) as tf.Tensor1D, short = tf.ones([3]) as tf.Tensor1D, intScale = tf.ones([4], "int32") as tf.Tensor1D;
      const cases: Array<[() => unknown, RegExp]> = [
        [() => residual(x, wide), /x \[2,3,4\] and branch \[2,3,5\] must have one shape/],
        [() => residual(flat, flat, null, new Float32Array(4)), /rank 2 or more/],
        [() => residual(ints, x, scale), /must be float32 \(got int32, float32, float32\); cast them first/],
        [() => residual(x, x, short), /scale \[3\] must be \[4\], the size of x's last axis/],
        [() => residual(x, x, intScale), /must be float32 \(got float32, float32, int32\)/],
        [() => residual(x, x, null, new Float32Array(3)), /mask has 3 factors, x \[2,3,4\] has 2 items on its batch axis/],
      ];
      for (const [call, message] of cases) assert.throws(call, message);
      tf.dispose([x, wide, flat, ints, scale, short, intScale]);
      assert.equal(tf.memory().numTensors, before, "a rejected call leaves no tensor behind");
    });
  }
});
