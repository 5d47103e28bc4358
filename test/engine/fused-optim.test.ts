import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { tf } from "../../lib/engine/index.js";
import { adamwStep, adamwUpdate, referenceAdamwStep, type AdamWOptions } from "../../lib/engine/fused/index.js";
import type { NativeBackend } from "../../lib/engine/native/backend.js";
import { loadBackend, mismatch, seeded } from "../helpers/backends.js";

// A matrix, a scalar, an empty tensor, an odd vector, and one long enough that the pool's chunks
// (32 Ki elements) start in the middle of a variable and span several variables.
const SHAPES = [[7, 5], [], [0, 3], [33], [3, 40_001], [1]];
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const t = (shape: number[], seed: number, lo = -1, hi = 1) => tf.tensor(seeded(size(shape), seed, lo, hi), shape);

/** A model's worth of variables with AdamW moments part way into training (m, v non-zero). */
function model(seed: number): { params: tf.Variable[]; ms: tf.Variable[]; vs: tf.Variable[] } {
  return tf.tidy(() => ({
    params: SHAPES.map((s, i) => tf.variable(t(s, seed + i), false)),
    ms: SHAPES.map((s, i) => tf.variable(t(s, seed + 10 + i, -0.1, 0.1), false)),
    vs: SHAPES.map((s, i) => tf.variable(t(s, seed + 20 + i, 0, 0.01), false)),
  }));
}
const gradsFor = (step: number) => SHAPES.map((s, i) => t(s, 100 * step + i, -2, 2));
const read = (ts: readonly tf.Tensor[]) => ts.map((x) => Float32Array.from(x.dataSync()));
const storage = (x: tf.Tensor) => (tf.backend() as NativeBackend).data.get(x.dataId).values as Float32Array;
const disposeAll = (m: ReturnType<typeof model>) => tf.dispose([...m.params, ...m.ms, ...m.vs]);

/** `steps` AdamW steps of `step` (per variable, out of place) from the values of `m`, read back. */
function outOfPlace(m: { params: readonly tf.Tensor[]; ms: readonly tf.Tensor[]; vs: readonly tf.Tensor[] }, steps: number, options: AdamWOptions, step: typeof referenceAdamwStep | typeof adamwStep) {
  let [p, mm, vv]: tf.Tensor[][] = [m.params.map((x) => x.clone()), m.ms.map((x) => x.clone()), m.vs.map((x) => x.clone())];
  for (let s = 1; s <= steps; s++) {
    const g = gradsFor(s);
    const a = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, ...options, step: s };
    const next = p.map((_, i) => (step === adamwStep ? adamwStep(p[i]!, g[i]!, mm[i]!, vv[i]!, s, options) : referenceAdamwStep(p[i]!, g[i]!, mm[i]!, vv[i]!, a)));
    tf.dispose([...p, ...mm, ...vv, ...g]);
    [p, mm, vv] = [next.map((n) => n.param), next.map((n) => n.m), next.map((n) => n.v)];
  }
  const out = { params: read(p), ms: read(mm), vs: read(vv) };
  tf.dispose([...p, ...mm, ...vv]);
  return out;
}

function update(m: ReturnType<typeof model>, step: number, options: AdamWOptions): void {
  const g = gradsFor(step);
  adamwUpdate(m.params, g, m.ms, m.vs, step, options);
  tf.dispose(g);
}

describe("adamwUpdate on the native backend (one kernel, in place)", () => {
  before(async () => {
    await loadBackend("cpu");
    await loadBackend("native");
    await tf.setBackend("native");
  });

  for (const weightDecay of [0, 0.05]) {
    it(`equals the per-variable kernel bit for bit and the reference composition closely, 4 steps, weight decay ${weightDecay}`, () => {
      const options = { lr: 0.01, weightDecay };
      const m = model(1);
      const kernel = outOfPlace(m, 4, options, adamwStep);
      const reference = outOfPlace(m, 4, options, referenceAdamwStep);
      for (let s = 1; s <= 4; s++) update(m, s, options);
      const ours = { params: read(m.params), ms: read(m.ms), vs: read(m.vs) };
      for (const key of ["params", "ms", "vs"] as const) {
        ours[key].forEach((values, i) => {
          assert.deepEqual(values, kernel[key][i], `${key}[${i}] differs from the per-variable kernel`);
          const { worst, at } = mismatch(values, reference[key][i]!, 1e-7, 1e-5);
          assert.ok(worst <= 1, `${key}[${i}] off the reference composition at ${at}: ${values[at]} vs ${reference[key][i]![at]}`);
        });
      }
      disposeAll(m);
    });
  }

  it("updates in place: after the first step every variable keeps its storage, and no tensor is made", () => {
    const m = model(2);
    const all = [...m.params, ...m.ms, ...m.vs].filter((v) => v.size > 0);
    update(m, 1, { lr: 0.01 });
    const stores = all.map(storage);
    const dataIds = all.map((v) => v.dataId);
    const tensors = tf.memory().numTensors;
    for (let s = 2; s <= 4; s++) {
      const g = gradsFor(s);
      const made = tf.memory().numTensors;
      adamwUpdate(m.params, g, m.ms, m.vs, s, { lr: 0.01 });
      assert.equal(tf.memory().numTensors, made, "adamwUpdate made or freed tensors");
      tf.dispose(g);
    }
    assert.equal(tf.memory().numTensors, tensors);
    all.forEach((v, i) => {
      assert.equal(v.dataId, dataIds[i], `variable ${i} was reassigned`);
      assert.equal(storage(v), stores[i], `variable ${i} was copied`);
    });
    disposeAll(m);
  });

  it("leaves a clone, a reshape and a variable's initial tensor with their old values", () => {
    const m = model(3);
    const w = m.params[0]!, mom = m.ms[4]!;
    const before = read([w, mom, m.params[3]!]);
    const clone = tf.clone(w), reshaped = tf.reshape(mom, [-1]);
    const init = t([33], 77);
    const fromInit = tf.variable(init, false);
    const params = [...m.params.slice(0, 3), fromInit, ...m.params.slice(4)];
    const expected = outOfPlace({ ...m, params }, 1, { lr: 0.01 }, adamwStep);
    const initBefore = read([init]);
    const g = gradsFor(1);
    adamwUpdate(params, g, m.ms, m.vs, 1, { lr: 0.01 });
    assert.deepEqual(read([clone])[0], before[0], "the clone changed");
    assert.deepEqual(read([reshaped])[0], before[1], "the reshape changed");
    assert.deepEqual(read([init])[0], initBefore[0], "the variable's initial tensor changed");
    assert.deepEqual(read([w])[0], expected.params[0], "the cloned variable was not updated");
    assert.deepEqual(read([mom])[0], expected.ms[4], "the reshaped moment was not updated");
    assert.deepEqual(read([fromInit])[0], expected.params[3], "the variable made from a kept tensor was not updated");
    tf.dispose([clone, reshaped, init, fromInit, ...g]);
    disposeAll(m);
  });

  it("leaves values read out before (data, dataSync), a slice, and a user's array as they were", async () => {
    const m = model(4);
    update(m, 1, { lr: 0.01 });
    update(m, 2, { lr: 0.01 });
    // Variables that own pooled storage by now: the in-place case is what is checked.
    const viaData = (await m.params[4]!.data()) as Float32Array;
    const viaSync = m.vs[0]!.dataSync() as Float32Array;
    const scalar = m.params[1]!.dataSync() as Float32Array;
    const slice = tf.slice(m.ms[4]!, [1, 0], [1, 40_001]);
    const userArray = seeded(33, 5);
    const fromArray = tf.tidy(() => tf.variable(tf.tensor(userArray, [33]), false));
    const params = [...m.params.slice(0, 3), fromArray, ...m.params.slice(4)];
    const copies = [viaData, viaSync, scalar, slice.dataSync(), userArray].map((a) => Float32Array.from(a));
    const expected = outOfPlace({ ...m, params }, 1, { lr: 0.01 }, adamwStep);
    const g = gradsFor(1);
    adamwUpdate(params, g, m.ms, m.vs, 1, { lr: 0.01 });
    assert.deepEqual(viaData, copies[0], "values from data() changed");
    assert.deepEqual(viaSync, copies[1], "values from dataSync() changed");
    assert.deepEqual(scalar, copies[2], "a scalar's values from dataSync() changed");
    assert.deepEqual(read([slice])[0], copies[3], "a slice changed");
    assert.deepEqual(userArray, copies[4], "the user's array changed");
    assert.deepEqual(read([m.params[4]!])[0], expected.params[4]);
    assert.deepEqual(read([m.vs[0]!])[0], expected.vs[0]);
    assert.deepEqual(read([fromArray])[0], expected.params[3]);
    tf.dispose([slice, fromArray, ...g]);
    disposeAll(m);
  });

  it("refuses bad arguments before changing anything", () => {
    const m = model(5);
    const before = read([...m.params, ...m.ms, ...m.vs]);
    const g = gradsFor(1);
    const wrong = [...g.slice(0, 3), tf.zeros([34]), ...g.slice(4)];
    assert.throws(() => adamwUpdate(m.params, wrong, m.ms, m.vs, 1, { lr: 0.01 }), /the gradient of parameter 3 has shape \[34\], the parameter \[33\]/);
    assert.throws(() => adamwUpdate(m.params, g, [...m.ms.slice(0, 5), m.params[5]!], m.vs, 1, { lr: 0.01 }), /the m of parameter 5 appears twice/);
    assert.throws(() => adamwUpdate(m.params, g.slice(1), m.ms, m.vs, 1, { lr: 0.01 }), /6 parameters need as many gradients and moments, got 5 gradients/);
    assert.throws(() => adamwUpdate(m.params, g, m.ms, m.vs, 0, { lr: 0.01 }), /step must be a whole number ≥ 1, got 0/);
    const ints = tf.zeros([1], "int32");
    assert.throws(() => adamwUpdate(m.params, [...g.slice(0, 5), ints], m.ms, m.vs, 1, { lr: 0.01 }), /the gradient of parameter 5 is int32, not float32/);
    assert.deepEqual(read([...m.params, ...m.ms, ...m.vs]), before);
    tf.dispose([...g, wrong[3]!, ints]);
    disposeAll(m);
  });
});

describe("adamwUpdate on the cpu backend (per-variable fallback)", () => {
  let previous = "";
  before(async () => {
    await loadBackend("cpu");
    previous = tf.getBackend();
    await tf.setBackend("cpu");
  });
  after(async () => {
    await tf.setBackend(previous);
  });

  it("equals the reference composition bit for bit and leaks nothing", () => {
    const options = { lr: 0.02, weightDecay: 0.05 };
    const m = model(6);
    const reference = outOfPlace(m, 3, options, referenceAdamwStep);
    const tensors = tf.memory().numTensors;
    for (let s = 1; s <= 3; s++) update(m, s, options);
    assert.equal(tf.memory().numTensors, tensors);
    assert.deepEqual({ params: read(m.params), ms: read(m.ms), vs: read(m.vs) }, reference);
    const clone = tf.clone(m.params[0]!);
    const before = read([clone])[0];
    update(m, 4, options);
    assert.deepEqual(read([clone])[0], before, "a clone changed");
    tf.dispose(clone);
    disposeAll(m);
  });
});
