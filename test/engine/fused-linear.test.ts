import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { tf } from "../../lib/engine/index.js";
import { linear } from "../../lib/engine/fused/index.js";
import { LINEAR, LINEAR_GRAD } from "../../lib/engine/fused/names.js";
import { computeOn, loadBackend, mismatch, seeded } from "../helpers/backends.js";

const t = (shape: number[], seed: number) => tf.tensor(seeded(shape.reduce((a, b) => a * b, 1), seed, -1, 1), shape);

type Dense = (x: tf.Tensor, w: tf.Tensor2D, b: tf.Tensor1D | null) => tf.Tensor;

/** What the op stands for, spelled with plain ops: x flattened to [rows, in], matMul, bias added, reshaped back. */
const composed: Dense = (x, w, b) => {
  const y = tf.matMul(tf.reshape(x, [-1, w.shape[0]]), w);
  return tf.reshape(b ? tf.add(y, b) : y, [...x.shape.slice(0, -1), w.shape[1]]);
};

/** Value and gradients (w.r.t. x, w and, when given, bias) of sum(f(x, w, b) ⊙ r) for a fixed random r. */
function valueAndGrads(f: Dense, xShape: number[], inOut: [number, number], withBias: boolean): tf.Tensor[] {
  const [k, n] = inOut;
  const x = t(xShape, 1), w = t([k, n], 2) as tf.Tensor2D, b = t([n], 3) as tf.Tensor1D, r = t([...xShape.slice(0, -1), n], 4);
  const loss = (x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor) => tf.sum(tf.mul(f(x, w as tf.Tensor2D, (b ?? null) as tf.Tensor1D | null), r));
  const inputs = withBias ? [x, w, b] : [x, w];
  return [f(x, w, withBias ? b : null), ...tf.grads(loss)(inputs)];
}

// Ranks 1–4, rows not a multiple of 16, in/out among 1, 16, 17 and 128, batch 1.
const CASES: Array<{ x: number[]; inOut: [number, number] }> = [
  { x: [37, 17], inOut: [17, 16] },
  { x: [3, 13, 128], inOut: [128, 17] },
  { x: [2, 5, 7, 16], inOut: [16, 128] },
  { x: [1, 3, 3, 1], inOut: [1, 1] },
  { x: [1, 50, 17], inOut: [17, 1] },
  { x: [128], inOut: [128, 16] },
  { x: [1, 1], inOut: [1, 17] },
  { x: [2, 11, 9, 128], inOut: [128, 128] },
];

const label = (x: number[], [k, n]: [number, number], bias: boolean) => `x [${x}], w [${k},${n}], ${bias ? "with" : "no"} bias`;

describe("fused linear", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
  });

  for (const backend of ["cpu", "native"] as const) {
    for (const { x, inOut } of CASES) {
      for (const bias of [true, false]) {
        it(`equals the cpu backend's matMul + bias in value and gradients, ${label(x, inOut, bias)} (${backend})`, async () => {
          const mine = await computeOn(backend, () => tf.tidy(() => valueAndGrads(linear, x, inOut, bias)));
          const reference = await computeOn("cpu", () => tf.tidy(() => valueAndGrads(composed, x, inOut, bias)));
          assert.equal(mine.leaked, 0);
          assert.equal(mine.values.length, bias ? 4 : 3);
          ["value", "dx", "dw", "dbias"].slice(0, mine.values.length).forEach((what, i) => {
            const { worst, at } = mismatch(mine.values[i]!, reference.values[i]!, 1e-5, 1e-4);
            assert.ok(worst <= 1, `${what}: ${mine.values[i]![at]} vs ${reference.values[i]![at]} at ${at} (length ${mine.values[i]!.length} vs ${reference.values[i]!.length})`);
          });
        });
      }
    }
  }

  it("is one kernel forward and one backward on the native backend, for any rank, with or without bias", async () => {
    await tf.setBackend("native");
    const before = tf.memory().numTensors;
    for (const { x: xShape, inOut: [k, n] } of CASES.slice(0, 3)) {
      for (const bias of [true, false]) {
        const x = t(xShape, 1), w = t([k, n], 2), b = t([n], 3), dy = t([...xShape.slice(0, -1), n], 4);
        const f = (x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor) => linear(x, w as tf.Tensor2D, (b ?? null) as tf.Tensor1D | null);
        const profile = await tf.profile(() => tf.grads(f)(bias ? [x, w, b] : [x, w], dy));
        // Identity: tfjs' copies of the saved x and w (none where the engine's lighter saves are installed).
        const names = profile.kernels.map((k) => k.name).filter((s) => s !== "Identity");
        assert.deepEqual(names, [LINEAR, LINEAR_GRAD], label(xShape, [k, n], bias));
        tf.dispose([x, w, b, dy, ...(profile.result as tf.Tensor[])]);
      }
    }
    assert.equal(tf.memory().numTensors, before);
    // The backward pass keeps x and w, not y (the largest maps of a training step).
    const gradient = tf.getGradient(LINEAR)!;
    assert.deepEqual([gradient.inputsToSave, gradient.outputsToSave ?? []], [["x", "w"], []]);
  });

  it("handles empty products through the composition", async () => {
    for (const backend of ["cpu", "native"] as const) {
      const out = await computeOn(backend, () => tf.tidy(() => [linear(tf.zeros([0, 4]), tf.ones([4, 3]) as tf.Tensor2D, tf.ones([3]) as tf.Tensor1D), linear(tf.zeros([2, 0]), tf.zeros([0, 3]) as tf.Tensor2D, tf.ones([3]) as tf.Tensor1D)]));
      assert.equal(out.leaked, 0);
      assert.deepEqual([...out.values[0]!], []);
      assert.deepEqual([...out.values[1]!], [1, 1, 1, 1, 1, 1]);
    }
  });

  it("says which shapes it needs", () => {
    tf.tidy(() => {
      assert.throws(() => linear(tf.zeros([4, 3]), tf.zeros([5, 2]), tf.zeros([2])), /linear: x \[4,3\], w \[5,2\] and bias \[2\] must be \[\.\.\., in\], \[in, out\] and \[out\] \(or null\)/);
      assert.throws(() => linear(tf.zeros([4, 3]), tf.zeros([3, 2]), tf.zeros([3])), /must be/);
      assert.throws(() => linear(tf.zeros([2, 4, 3]), tf.zeros([3, 2, 1]) as tf.Tensor as tf.Tensor2D), /w \[3,2,1\] and bias null must be/);
      assert.throws(() => linear(tf.scalar(1), tf.zeros([1, 2])), /x \[\]/);
    });
  });
});
