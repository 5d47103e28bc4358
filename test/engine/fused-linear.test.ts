import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { tf } from "../../lib/engine/index.js";
import { linear, linearPair, referenceLinearPair } from "../../lib/engine/fused/index.js";
import { LINEAR, LINEAR_GRAD, LINEAR_PAIR, LINEAR_PAIR_GRAD } from "../../lib/engine/fused/names.js";
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

type Pair = typeof linearPair;

/**
 * Both outputs and the gradients w.r.t. x, w1, w2 and the biases given of
 * sum(y1·r1) + sum(y2·r2) for fixed random r1, r2.
 */
function pairValuesAndGrads(f: Pair, xShape: number[], k: number, [n1, n2]: [number, number], [bias1, bias2]: [boolean, boolean]): tf.Tensor[] {
  return tf.tidy(() => {
    const rows = xShape.slice(0, -1);
    const x = t(xShape, 1), w1 = t([k, n1], 2) as tf.Tensor2D, w2 = t([k, n2], 3) as tf.Tensor2D;
    const b1 = t([n1], 4) as tf.Tensor1D, b2 = t([n2], 5) as tf.Tensor1D, r1 = t([...rows, n1], 6), r2 = t([...rows, n2], 7);
    const inputs = [x, w1, w2, ...(bias1 ? [b1] : []), ...(bias2 ? [b2] : [])];
    const run = (...xs: tf.Tensor[]) => {
      const [a, c, d] = xs as [tf.Tensor, tf.Tensor2D, tf.Tensor2D];
      const e = bias1 ? (xs[3] as tf.Tensor1D) : null, g = bias2 ? (xs[bias1 ? 4 : 3] as tf.Tensor1D) : null;
      return f(a, c, e, d, g);
    };
    const loss = (...xs: tf.Tensor[]) => {
      const [y1, y2] = run(...xs);
      return tf.add(tf.sum(tf.mul(y1, r1)), tf.sum(tf.mul(y2, r2)));
    };
    return [...run(...inputs), ...tf.grads(loss)(inputs)];
  });
}

// Rows not a multiple of 16 (and enough of them to be cut into pieces over the pool), ranks 2–4,
// two output widths, in = 1, one or both biases.
const PAIR_CASES: Array<{ x: number[]; n: [number, number]; bias: [boolean, boolean] }> = [
  { x: [37, 17], n: [16, 16], bias: [true, true] },
  { x: [3, 13, 16], n: [16, 5], bias: [true, false] },
  { x: [2, 5, 7, 32], n: [32, 32], bias: [false, true] },
  { x: [1, 3, 3, 1], n: [1, 2], bias: [false, false] },
  { x: [3, 67, 71, 16], n: [16, 16], bias: [true, true] },
  { x: [2, 41, 43, 32], n: [32, 48], bias: [true, true] },
  { x: [9, 11, 128], n: [128, 128], bias: [true, true] },
];

const pairLabel = (x: number[], n: [number, number], bias: [boolean, boolean]) => `x [${x}], out ${n[0]} and ${n[1]}, biases ${bias}`;

describe("fused linearPair", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
  });

  for (const { x, n, bias } of PAIR_CASES) {
    it(`equals two linear layers on cpu in values and gradients, ${pairLabel(x, n, bias)}`, async () => {
      const k = x.at(-1)!;
      const mine = await computeOn("native", () => pairValuesAndGrads(linearPair, x, k, n, bias));
      const reference = await computeOn("cpu", () => pairValuesAndGrads(referenceLinearPair, x, k, n, bias));
      assert.equal(mine.leaked, 0);
      const names = ["y1", "y2", "dx", "dw1", "dw2", ...(bias[0] ? ["dbias1"] : []), ...(bias[1] ? ["dbias2"] : [])];
      assert.equal(mine.values.length, names.length);
      // Weight and bias gradients sum over every row (up to 14,271 here, in another order than
      // the cpu backend's): an absolute tolerance that grows with the row count.
      const rows = x.slice(0, -1).reduce((a, b) => a * b, 1);
      names.forEach((what, i) => {
        const long = what.startsWith("dw") || what.startsWith("db");
        const { worst, at } = mismatch(mine.values[i]!, reference.values[i]!, long ? 1e-5 * Math.max(1, rows / 100) : 1e-5, 1e-4);
        assert.ok(worst <= 1, `${what}: ${mine.values[i]![at]} vs ${reference.values[i]![at]} at ${at}`);
      });
    });

    it(`equals the native linear kernels plus the tape's Add (outputs, weight and bias gradients bit for bit), ${pairLabel(x, n, bias)}`, async () => {
      const k = x.at(-1)!;
      const mine = await computeOn("native", () => pairValuesAndGrads(linearPair, x, k, n, bias));
      const reference = await computeOn("native", () => pairValuesAndGrads(referenceLinearPair, x, k, n, bias));
      mine.values.forEach((values, i) => {
        // dx (index 2) is one sum of two products here, two products and an Add there.
        const { worst, at } = mismatch(values, reference.values[i]!, i === 2 ? 1e-5 : 0, i === 2 ? 1e-5 : 0);
        assert.ok(i === 2 ? worst <= 1 : at === -1, `output ${i}: ${values[at]} vs ${reference.values[i]![at]} at ${at}`);
      });
    });
  }

  it("is one kernel forward and one backward on the native backend (no Add summing dx), leaking nothing", async () => {
    await tf.setBackend("native");
    const before = tf.memory().numTensors;
    const x = t([3, 5, 16], 1), w1 = t([16, 8], 2) as tf.Tensor2D, w2 = t([16, 4], 3) as tf.Tensor2D, b1 = t([8], 4) as tf.Tensor1D;
    const profile = await tf.profile(() =>
      tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor, e: tf.Tensor) => {
        const [y1, y2] = linearPair(a, c as tf.Tensor2D, e as tf.Tensor1D, d as tf.Tensor2D, null);
        return tf.add(tf.sum(y1), tf.sum(y2));
      })([x, w1, w2, b1]),
    );
    const names = profile.kernels.map((k) => k.name).filter((s) => s.startsWith("ClueLinear") || (s === "Add" || s === "AddN"));
    // The one Add adds the two scalar sums.
    assert.deepEqual(names, [LINEAR_PAIR, "Add", LINEAR_PAIR_GRAD]);
    tf.dispose([x, w1, w2, b1, ...(profile.result as tf.Tensor[])]);
    assert.equal(tf.memory().numTensors, before);
    // The backward pass keeps x and the weights, not the outputs.
    const gradient = tf.getGradient(LINEAR_PAIR)!;
    assert.deepEqual([gradient.inputsToSave, gradient.outputsToSave ?? []], [["x", "w1", "w2"], []]);
  });

  it("runs the composition for empty maps and says which shapes it needs", async () => {
    const out = await computeOn("native", () => tf.tidy(() => linearPair(tf.zeros([0, 4]), tf.ones([4, 3]) as tf.Tensor2D, tf.ones([3]) as tf.Tensor1D, tf.ones([4, 2]) as tf.Tensor2D, null)));
    assert.equal(out.leaked, 0);
    assert.deepEqual(out.values.map((v) => v.length), [0, 0]);
    tf.tidy(() => {
      assert.throws(() => linearPair(tf.zeros([4, 3]), tf.zeros([3, 2]), null, tf.zeros([5, 2]), null), /linear: x \[4,3\], w \[5,2\] and bias null must be/);
    });
  });
});
