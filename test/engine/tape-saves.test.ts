import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { gelu, layerNorm, layerNormTee, ready, tf } from "../../lib/engine/index.js";
import { declareSaveOnlyOutputs, installLightTapeSaves, shareTensor, uninstallLightTapeSaves } from "../../lib/engine/tape-saves.js";
import { seeded } from "../helpers/backends.js";

const t = (shape: number[], seed: number) => tf.tensor(seeded(shape.reduce((a, b) => a * b, 1), seed), shape);

/** A small net whose gradient saves inputs and outputs of registered kernels and of fused ops. */
function loss(x: tf.Tensor2D, w: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D): tf.Scalar {
  const h = gelu(layerNorm(tf.matMul(x, w), gamma, beta, 1e-5));
  return tf.sum(tf.mul(tf.exp(tf.mul(h, 0.3)), tf.square(h)));
}

function gradients(): Float32Array[] {
  return tf.tidy(() => {
    const inputs = [t([7, 5], 1), t([5, 12], 2), t([12], 3), t([12], 4)] as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
    const g = tf.grads((x, w, gamma, beta) => loss(x as tf.Tensor2D, w as tf.Tensor2D, gamma as tf.Tensor1D, beta as tf.Tensor1D))(inputs);
    return g.map((d) => d.dataSync() as Float32Array);
  });
}

/** Kernel names run by `f`, from TensorFlow.js' profiler. */
async function kernelsRun(f: () => tf.Tensor | tf.Tensor[]): Promise<string[]> {
  const info = await tf.profile(() => f());
  return info.kernels.map((k) => k.name);
}

describe("light tape saves", () => {
  before(async () => {
    await ready();
  });

  it("leaves first-order gradients exactly as TensorFlow.js' own saving gives them", () => {
    uninstallLightTapeSaves();
    const reference = gradients();
    installLightTapeSaves();
    const light = gradients();
    assert.equal(light.length, reference.length);
    light.forEach((g, i) => assert.deepEqual(Array.from(g), Array.from(reference[i]!), `gradient ${i}`));
  });

  it("saves without an Identity kernel while one tape records, and with it under nested tapes", async () => {
    installLightTapeSaves();
    const x = t([4, 3], 5);
    const first = await kernelsRun(() => tf.grad((v: tf.Tensor) => tf.sum(tf.square(v)))(x));
    assert.ok(first.includes("Square"), `profiled ${first.join(", ")}`);
    assert.ok(!first.includes("Identity"), `a first-order gradient ran ${first.join(", ")}`);
    const second = await kernelsRun(() => tf.grad((v: tf.Tensor) => tf.sum(tf.grad((u: tf.Tensor) => tf.sum(tf.square(u)))(v)))(x));
    assert.ok(second.includes("Identity"), `a second-order gradient ran ${second.join(", ")}`);
    x.dispose();
  });

  it("keeps higher-order gradients right", () => {
    // TensorFlow.js differentiates twice only through kernels whose gradients use saved inputs
    // (Square, Mul); d²/dx² Σ x²·x·x = 12x², the same with its own clone and with this one.
    const x = t([6], 6);
    const f = (u: tf.Tensor) => tf.sum(tf.mul(tf.mul(tf.square(u), u), u));
    const second = () => tf.tidy(() => Array.from(tf.grad((v: tf.Tensor) => tf.grad(f)(v))(x).dataSync()));
    uninstallLightTapeSaves();
    const reference = second();
    installLightTapeSaves();
    const light = second();
    assert.deepEqual(light, reference);
    Array.from(x.dataSync()).forEach((v, i) => assert.ok(Math.abs(light[i]! - 12 * v * v) <= 1e-5, `at ${i}: ${light[i]} vs ${12 * v * v}`));
    x.dispose();
  });

  it("leaks no tensor and no storage", () => {
    installLightTapeSaves();
    const w = tf.variable(t([5, 12], 7));
    const gamma = tf.variable(t([12], 8));
    const beta = tf.variable(t([12], 9));
    const x = t([7, 5], 10) as tf.Tensor2D;
    const step = () => {
      const { value, grads } = tf.variableGrads(() => loss(x, w as tf.Tensor2D, gamma as tf.Tensor1D, beta as tf.Tensor1D), [w, gamma, beta]);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const before = tf.memory();
    for (let i = 0; i < 3; i++) step();
    const after = tf.memory();
    assert.equal(after.numTensors, before.numTensors);
    assert.equal(after.numDataBuffers, before.numDataBuffers);
    assert.equal(after.numBytes, before.numBytes);
    tf.dispose([w, gamma, beta, x]);
  });

  describe("save-only outputs", () => {
    // A two-output kernel, y = 2x and a save s = x², on the test's backend (storage read back
    // through the backend, as the cpu kernels do); its gradient records the dys it was given.
    const name = "TapeSavesTestTwoOut";
    let seen: Array<tf.Tensor | null> = [];
    before(() => {
      type Storage = { readSync(id: object): Float32Array; makeTensorInfo(shape: number[], dtype: "float32", v: Float32Array): tf.TensorInfo };
      tf.registerKernel({
        kernelName: name,
        backendName: tf.getBackend(),
        kernelFunc: ({ inputs, backend }) => {
          const x = inputs.x!;
          const b = backend as unknown as Storage;
          const v = b.readSync(x.dataId);
          return [b.makeTensorInfo(x.shape, "float32", v.map((e) => 2 * e)), b.makeTensorInfo(x.shape, "float32", v.map((e) => e * e))];
        },
      });
      tf.registerGradient({
        kernelName: name,
        outputsToSave: [false, true],
        gradFunc: (dys) => {
          seen = [...(dys as Array<tf.Tensor | null>)];
          const dy = (dys as tf.Tensor[])[0]!;
          const ds = (dys as Array<tf.Tensor | null>)[1];
          return { x: () => (ds ? tf.add(tf.mul(dy, 2), ds) : tf.mul(dy, 2)) };
        },
      });
      declareSaveOnlyOutputs(name, [false, true]);
    });
    const run = (useSave: boolean, useY = true) => (x: tf.Tensor) => {
      const [y, s] = tf.engine().runKernel(name, { x }, {}) as tf.Tensor[];
      if (!useY) return tf.sum(s!);
      return useSave ? tf.sum(tf.add(y!, s!)) : tf.sum(y!);
    };

    it("hands null, not zeros, to the gradient for a declared output nobody differentiated", () => {
      installLightTapeSaves();
      const x = t([5], 11);
      const g = tf.grad(run(false))(x);
      assert.equal(seen.length, 2);
      assert.ok(seen[0] instanceof tf.Tensor);
      assert.equal(seen[1], null);
      assert.deepEqual(Array.from(g.dataSync()), [2, 2, 2, 2, 2]);
      uninstallLightTapeSaves();
      const reference = tf.grad(run(false))(x);
      assert.notEqual(seen[1] as unknown, null, "TensorFlow.js' own tape gives a zero tensor");
      installLightTapeSaves();
      tf.dispose([x, g, reference]);
    });

    it("still hands over a gradient that reached a declared output", () => {
      installLightTapeSaves();
      const x = t([4], 12);
      const g = tf.grad(run(true))(x);
      assert.ok(seen[1] instanceof tf.Tensor);
      assert.deepEqual(Array.from(g.dataSync()), [3, 3, 3, 3]);
      tf.dispose([x, g]);
    });

    it("fills zeros, as TensorFlow.js does, for an undeclared output nobody differentiated", () => {
      installLightTapeSaves();
      const x = t([3], 16);
      const g = tf.grad(run(true, false))(x);
      assert.ok(seen[0] instanceof tf.Tensor);
      assert.deepEqual(Array.from(g.dataSync()), [1, 1, 1]);
      tf.dispose([x, g]);
    });

    it("leaves layer norm's gradients (plain and tee) exactly as with zero tensors", () => {
      const grads = () =>
        tf.tidy(() => {
          const inputs = [t([6, 12], 13), t([12], 14), t([12], 15)] as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
          const f = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
            const [skip, y] = layerNormTee(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D);
            const z = layerNorm(tf.mul(y, skip) as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D);
            return tf.sum(tf.mul(z, tf.exp(tf.mul(z, 0.5))));
          };
          return tf.grads(f)(inputs).map((d) => Array.from(d.dataSync()));
        });
      uninstallLightTapeSaves();
      const reference = grads();
      installLightTapeSaves();
      const before = tf.memory().numTensors;
      assert.deepEqual(grads(), reference);
      assert.equal(tf.memory().numTensors, before);
    });
  });

  it("shareTensor: a second tensor on the same storage, with no kernel, disposable on its own", async () => {
    const x = t([2, 3], 17);
    const before = tf.memory();
    let shared: tf.Tensor | undefined;
    const profile = await tf.profile(() => {
      shared = shareTensor(x);
    });
    assert.deepEqual(profile.kernels.map((k) => k.name), []);
    assert.notEqual(shared, x);
    assert.equal(shared!.dataId, x.dataId);
    assert.deepEqual(shared!.shape, x.shape);
    assert.equal(tf.memory().numTensors, before.numTensors + 1);
    assert.equal(tf.memory().numDataBuffers, before.numDataBuffers);
    const values = Array.from(x.dataSync());
    shared!.dispose();
    assert.deepEqual(Array.from(x.dataSync()), values);
    x.dispose();
    assert.equal(tf.memory().numTensors, before.numTensors - 1);
    assert.equal(tf.memory().numDataBuffers, before.numDataBuffers - 1);
  });
});
