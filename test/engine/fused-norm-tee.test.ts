import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { tf } from "../../lib/engine/index.js";
import { layerNormTee, referenceLayerNormTee } from "../../lib/engine/fused/index.js";
import { LAYER_NORM_GRAD, LAYER_NORM_TEE } from "../../lib/engine/fused/names.js";
import { GroupNorm, LayerNorm } from "../../lib/nn/norm.js";
import { pytorchDefault } from "../../lib/nn/init.js";
import { Rng } from "../../lib/nn/rng.js";
import { computeOn, loadBackend, mismatch, seeded } from "../helpers/backends.js";

const t = (shape: number[], seed: number, lo = -1, hi = 1) => tf.tensor(seeded(shape.reduce((a, b) => a * b, 1), seed, lo, hi), shape);

type Tee = typeof layerNormTee;

/**
 * Both outputs and the gradients w.r.t. x, gamma and beta of sum(skip·u + y·w) for seeded
 * weightings u and w (each element of both outputs gets its own upstream gradient).
 */
function valuesAndGrads(tee: Tee, shape: number[], use: "both" | "skip" | "norm" = "both"): tf.Tensor[] {
  return tf.tidy(() => {
    const c = shape.at(-1)!;
    const x = t(shape, 1, -2, 3), gamma = t([c], 2, 0.5, 1.5), beta = t([c], 3);
    const u = t(shape, 4, 0.5, 1.5), w = t(shape, 5, -1, 2);
    // Only x leads to the loss when the normalised output is unused.
    const loss = (x: tf.Tensor, g: tf.Tensor = gamma, b: tf.Tensor = beta) => {
      const [skip, y] = tee(x, g as tf.Tensor1D, b as tf.Tensor1D);
      const terms = [use !== "norm" ? tf.sum(tf.mul(skip, u)) : null, use !== "skip" ? tf.sum(tf.mul(y, w)) : null].filter((s) => s !== null);
      return terms.length === 2 ? tf.add(terms[0]!, terms[1]!) : terms[0]!;
    };
    const [skip, y] = tee(x, gamma as tf.Tensor1D, beta as tf.Tensor1D);
    return [skip, y, ...tf.grads(loss)(use === "skip" ? [x] : [x, gamma, beta])];
  });
}

// Short rows (C = 16, 32, 48, 64: the unrolled kernels) with row counts no multiple of their
// 16-row blocks, other widths on the general path, and maps cut into several gradient chunks.
const SHAPES = [[3, 7, 16], [2, 3, 5, 32], [21, 48], [1, 3, 7, 64], [3, 7, 21], [5, 9, 1], [2, 5, 130], [9, 37, 29, 16], [4, 17, 31, 32], [3, 700, 24]];
const NAMES = ["skip", "y", "dx", "dgamma", "dbeta"];

describe("fused layerNormTee", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
  });

  for (const shape of SHAPES) {
    it(`equals its composition on cpu, values and gradients, [${shape}]`, async () => {
      const expected = await computeOn("cpu", () => valuesAndGrads(referenceLayerNormTee, shape));
      const actual = await computeOn("native", () => valuesAndGrads(layerNormTee, shape));
      assert.equal(actual.leaked, 0, "native leaked tensors");
      assert.equal(actual.values.length, 5);
      actual.values.forEach((values, k) => {
        const { worst, at } = mismatch(values, expected.values[k]!, 1e-5, 1e-4);
        assert.ok(worst <= 1, `${NAMES[k]}: native ${values[at]} vs cpu ${expected.values[k]![at]} at ${at}`);
      });
    });

    it(`equals the native layer norm plus the tape's Add bit for bit, [${shape}]`, async () => {
      // The same kernels and the same float addition d(norm)·… + d(skip), once inside the
      // gradient kernel and once as tfjs' Add: identical results.
      const expected = await computeOn("native", () => valuesAndGrads(referenceLayerNormTee, shape));
      const actual = await computeOn("native", () => valuesAndGrads(layerNormTee, shape));
      actual.values.forEach((values, k) => {
        const { at } = mismatch(values, expected.values[k]!, 0, 0);
        assert.equal(at, -1, `${NAMES[k]}: ${values[at]} vs ${expected.values[k]![at]} at ${at}`);
      });
    });
  }

  for (const use of ["skip", "norm"] as const) {
    it(`gives the right gradients when only the ${use === "skip" ? "pass-through" : "normalised"} output is used`, async () => {
      const expected = await computeOn("cpu", () => valuesAndGrads(referenceLayerNormTee, [3, 11, 16], use));
      const actual = await computeOn("native", () => valuesAndGrads(layerNormTee, [3, 11, 16], use));
      assert.equal(actual.leaked, 0);
      actual.values.forEach((values, k) => {
        const { worst, at } = mismatch(values, expected.values[k]!, 1e-5, 1e-4);
        assert.ok(worst <= 1, `${NAMES[k]}: native ${values[at]} vs cpu ${expected.values[k]![at]} at ${at}`);
      });
    });
  }

  it("passes x through without a copy, one kernel each way and no Add, and leaks nothing", async () => {
    await tf.setBackend("native");
    const before = tf.memory().numTensors;
    const x = t([2, 5, 16], 1), gamma = t([16], 2) as tf.Tensor1D, beta = t([16], 3) as tf.Tensor1D;
    const [skip, y] = layerNormTee(x, gamma, beta);
    assert.equal(skip.dataId, x.dataId, "the pass-through shares x's storage");
    assert.notEqual(skip, x);
    tf.dispose([skip, y]);
    assert.deepEqual(Array.from(await x.data()), Array.from(seeded(160, 1)), "x outlives its pass-through");
    const profile = await tf.profile(() =>
      tf.grads((a: tf.Tensor) => {
        const [s, n] = layerNormTee(a, gamma, beta);
        return tf.sum(tf.mul(tf.add(s, 1), n));
      })([x]),
    );
    const names = profile.kernels.map((k) => k.name).filter((s) => s === LAYER_NORM_TEE || s === LAYER_NORM_GRAD || s === "AddN");
    assert.deepEqual(names, [LAYER_NORM_TEE, LAYER_NORM_GRAD]);
    const adds = profile.kernels.filter((k) => k.name === "Add" && tf.util.arraysEqual(k.outputShapes[0]!, [2, 5, 16]));
    // One Add in the forward pass (s + 1), none summing x's gradient.
    assert.equal(adds.length, 1, profile.kernels.map((k) => k.name).join(", "));
    tf.dispose([x, gamma, beta, ...(profile.result as tf.Tensor[])]);
    assert.equal(tf.memory().numTensors, before);
  });

  it("says which shapes it needs", () => {
    tf.tidy(() => {
      assert.throws(() => layerNormTee(tf.zeros([4, 3]), tf.zeros([4]) as tf.Tensor1D, tf.zeros([3]) as tf.Tensor1D), /layerNormTee: gamma \[4\] and beta \[3\] must both be \[3\]/);
    });
  });
});

describe("norm modules' forwardTee", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
  });

  for (const kind of ["layer", "group"] as const) {
    for (const backend of ["cpu", "native"] as const) {
      it(`${kind} norm: [x, norm(x)] with the gradients of x's two uses summed (${backend})`, async () => {
        const run = (tee: boolean) => () =>
          tf.tidy(() => {
            const build = { rng: new Rng(7), init: pytorchDefault };
            const norm = kind === "layer" ? new LayerNorm(build, 16) : new GroupNorm(build, 16);
            norm.weight.assign(t([16], 11, 0.5, 1.5));
            norm.bias.assign(t([16], 12));
            const x = t([2, 3, 5, 16], 8), u = t([2, 3, 5, 16], 9), w = t([2, 3, 5, 16], 10);
            const f = (x: tf.Tensor) => {
              const [skip, y] = tee ? norm.forwardTee(x as tf.Tensor4D) : [x, norm.forward(x as tf.Tensor4D)];
              return tf.add(tf.sum(tf.mul(skip, u)), tf.sum(tf.mul(y, w)));
            };
            const { value, grads } = tf.variableGrads(() => f(x) as tf.Scalar, [norm.weight, norm.bias]);
            const out = [value, grads[norm.weight.name]!, grads[norm.bias.name]!, tf.grad(f)(x), ...(tee ? norm.forwardTee(x as tf.Tensor4D) : [])];
            norm.dispose();
            return out;
          });
        const expected = await computeOn("cpu", run(false));
        const actual = await computeOn(backend, run(true));
        assert.equal(actual.leaked, 0);
        expected.values.forEach((values, k) => {
          const { worst, at } = mismatch(actual.values[k]!, values, 1e-5, 1e-4);
          assert.ok(worst <= 1, `output ${k}: ${actual.values[k]![at]} vs ${values[at]} at ${at}`);
        });
        const { at } = mismatch(actual.values[4]!, seeded(480, 8), 0, 0);
        assert.equal(at, -1, "the pass-through is x");
      });
    }
  }
});
