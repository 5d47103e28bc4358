import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { tf } from "../../lib/engine/index.js";
import { linear } from "../../lib/engine/fused/index.js";
import { computeOn, loadBackend, mismatch, seeded } from "../helpers/backends.js";

const t = (shape: number[], seed: number) => tf.tensor(seeded(shape.reduce((a, b) => a * b, 1), seed, -1, 1), shape);

/** Value and gradients (w.r.t. x, w, bias) of sum(f(x, w, b) ⊙ r) for a fixed random r. */
function valueAndGrads(f: (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D): tf.Tensor[] {
  const x = t([50, 9], 1) as tf.Tensor2D, w = t([9, 7], 2) as tf.Tensor2D, b = t([7], 3) as tf.Tensor1D, r = t([50, 7], 4);
  const g = tf.grads((x, w, b) => tf.sum(tf.mul(f(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D), r)));
  return [f(x, w, b), ...g([x, w, b])];
}

describe("fused linear", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
  });

  for (const backend of ["cpu", "native"] as const) {
    it(`equals matMul + bias in value and gradients (${backend})`, async () => {
      const mine = await computeOn(backend, () => tf.tidy(() => valueAndGrads(linear)));
      const composed = await computeOn(backend, () => tf.tidy(() => valueAndGrads((x, w, b) => tf.add(tf.matMul(x, w), b))));
      assert.equal(mine.leaked, 0);
      ["value", "dx", "dw", "dbias"].forEach((what, k) => {
        const { worst, at } = mismatch(mine.values[k]!, composed.values[k]!, 1e-5, 1e-4);
        assert.ok(worst <= 1, `${what}: ${mine.values[k]![at]} vs ${composed.values[k]![at]} at ${at}`);
      });
    });
  }

  it("says which shapes it needs", () => {
    tf.tidy(() => {
      assert.throws(() => linear(tf.zeros([4, 3]), tf.zeros([5, 2]), tf.zeros([2])), /linear: x \[4,3\], w \[5,2\] and bias \[2\] must be \[rows, in\], \[in, out\] and \[out\]/);
      assert.throws(() => linear(tf.zeros([4, 3]), tf.zeros([3, 2]), tf.zeros([3])), /must be/);
    });
  });
});
