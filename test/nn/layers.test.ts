import assert from "node:assert/strict";
import { before, test } from "node:test";
import { engine, tf } from "../../lib/index.js";
import {
  Conv2d, DepthwiseConv2d, GroupLinear, GroupNorm, LayerNorm, Linear, Mlp, Module, ModuleList, Rng, WeightLayout,
  dropPath, dropPathSchedule, gelu, kaimingUniform, pytorchDefault, truncNormal, type Build,
} from "../../lib/nn/index.js";
import { maxAbsDiff } from "../cluenet/reference.js";

before(async () => {
  await engine.ready();
});

const build = (seed = 1): Build => ({ rng: new Rng(seed), init: pytorchDefault });

test("Rng: same seed, same stream; uniform in [0, 1); normal has mean 0 and variance 1", () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const xs = Array.from({ length: 5 }, () => a.uniform());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.uniform()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => new Rng(43).uniform()));
  const r = new Rng(7);
  const n = 200_000;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const u = r.uniform();
    assert.ok(u >= 0 && u < 1);
    const z = r.normal();
    s += z;
    s2 += z * z;
  }
  assert.ok(Math.abs(s / n) < 0.01, `mean ${s / n}`);
  assert.ok(Math.abs(s2 / n - 1) < 0.02, `variance ${s2 / n}`);
  assert.throws(() => new Rng(Number.NaN), /finite/);
});

test("Rng state: a generator given another's state continues with the same draws, spare normal included; bad states are refused", () => {
  const a = new Rng(5);
  a.normal(); // leaves a spare normal behind
  const b = new Rng(99);
  b.setState(JSON.parse(JSON.stringify(a.state())));
  assert.deepEqual(Array.from({ length: 6 }, () => b.normal()), Array.from({ length: 6 }, () => a.normal()));
  assert.deepEqual(Array.from({ length: 6 }, () => b.uniform()), Array.from({ length: 6 }, () => a.uniform()));
  assert.throws(() => b.setState({ s: [0, 0, 0, 0], spare: null }), /not an Rng state/);
  assert.throws(() => b.setState({ s: [1, 2, 3], spare: null }), /not an Rng state/);
});

test("initialisers: trunc-normal std and bounds, kaiming-uniform bound 1/√fanIn at a=√5", () => {
  const rng = new Rng(3);
  const t = truncNormal(0.5, -1, 1)(100_000, rng);
  assert.ok(t.every((v) => v >= -1 && v <= 1));
  const std = Math.sqrt(t.reduce((a, v) => a + v * v, 0) / t.length);
  assert.ok(Math.abs(std - 0.44) < 0.01, `a normal(0, 0.5) truncated at ±2σ has std ≈ 0.44, got ${std}`);
  const k = kaimingUniform(64)(100_000, rng);
  const bound = 1 / 8;
  assert.ok(k.every((v) => Math.abs(v) <= bound));
  assert.ok(Math.max(...k.slice(0, 10_000)) > 0.99 * bound);
});

test("weight layouts map ours ↔ PyTorch's explicitly and invert", () => {
  const cases: Array<[WeightLayout, number[], number[]]> = [
    [WeightLayout.linear, [3, 5], [5, 3]],
    [WeightLayout.pointwise, [3, 5], [5, 3, 1, 1]],
    [WeightLayout.conv, [3, 2, 4, 6], [6, 4, 3, 2]],
    [WeightLayout.depthwise, [3, 3, 7, 1], [7, 1, 3, 3]],
    [WeightLayout.groupLinear, [2, 4, 3], [2, 3, 4]],
    [WeightLayout.reshaped([2, 3]), [2, 1, 3], [2, 3]],
    [WeightLayout.same, [], []],
  ];
  for (const [layout, ours, official] of cases) {
    assert.deepEqual(layout.officialShape(ours), official, layout.kind);
    const size = ours.reduce((a, b) => a * b, 1);
    const t = tf.tensor(Float32Array.from({ length: size }, (_, i) => i), ours);
    const o = layout.toOfficial(t);
    assert.deepEqual(o.shape, official);
    const back = layout.fromOfficial(o, ours);
    assert.deepEqual(back.dataSync(), t.dataSync(), `${layout.kind} round trip`);
    tf.dispose([t, o, back]);
  }
  // conv: ours[kh, kw, i, o] is PyTorch's [o, i, kh, kw]
  const w = tf.tensor4d(Float32Array.from({ length: 2 * 2 * 3 * 4 }, (_, i) => i), [2, 2, 3, 4]);
  const o = WeightLayout.conv.toOfficial(w);
  const [kh, kw, ci, co] = [1, 0, 2, 3];
  const oa = o.arraySync() as number[][][][];
  const wa = w.arraySync() as number[][][][];
  assert.equal(oa[co]![ci]![kh]![kw], wa[kh]![kw]![ci]![co]);
  tf.dispose([w, o]);
});

test("parameter names follow the module tree, own parameters first (PyTorch's state_dict order)", () => {
  class Leaf extends Module {
    constructor(b: Build) {
      super();
      this.module("fc", new Linear(b, 2, 3));
      this.param("scale", [1], () => new Float32Array([1]), b.rng);
    }
  }
  class Root extends Module {
    readonly list: ModuleList;
    constructor(b: Build) {
      super();
      this.list = this.module("blocks", new ModuleList());
      this.list.add(new Leaf(b));
      this.list.add(new Leaf(b), 2);
    }
  }
  const root = new Root(build());
  assert.deepEqual(
    root.namedParameters().map(([n, p]) => `${n}:${p.officialShape.join("x")}`),
    ["blocks.0.scale:1", "blocks.0.fc.weight:3x2", "blocks.0.fc.bias:3", "blocks.2.scale:1", "blocks.2.fc.weight:3x2", "blocks.2.fc.bias:3"],
  );
  assert.equal(root.countParams(), 2 * (1 + 6 + 3));
  const before = tf.memory().numTensors;
  root.dispose();
  assert.equal(tf.memory().numTensors, before - 6);
});

test("layers compute what PyTorch's do", () => {
  const b = build(5);
  const x = tf.randomNormal([2, 5, 6, 4], 0, 1, "float32", 1) as tf.Tensor4D;
  tf.tidy(() => {
    // Linear over the last axis of any rank = x·W + b
    const lin = new Linear(b, 4, 3);
    const y = lin.forward(x);
    const ref = tf.add(tf.matMul(tf.reshape(x, [-1, 4]), lin.weight), lin.bias!);
    assert.ok(maxAbsDiff(y.dataSync(), ref.dataSync()) < 1e-6);
    assert.deepEqual(y.shape, [2, 5, 6, 3]);
    // Conv2d pads symmetrically like PyTorch (stride 2, padding 1 on a 5×6 map → 3×3)
    const conv = new Conv2d(b, 4, 2, 3, 2, 1);
    const c = conv.forward(x);
    assert.deepEqual(c.shape, [2, 3, 3, 2]);
    const manual = tf.add(tf.conv2d(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), conv.weight as tf.Tensor4D, 2, "valid"), conv.bias);
    assert.ok(maxAbsDiff(c.dataSync(), manual.dataSync()) < 1e-5);
    const dw = new DepthwiseConv2d(b, 4);
    assert.deepEqual(dw.forward(x).shape, [2, 5, 6, 4]);
    // LayerNorm over channels; GroupNorm(1) over H, W, C (biased variance, eps 1e-5)
    const ln = new LayerNorm(b, 4).forward(x);
    const lnRef = tf.div(tf.sub(x, tf.mean(x, -1, true)), tf.sqrt(tf.add(tf.mean(tf.square(tf.sub(x, tf.mean(x, -1, true))), -1, true), 1e-5)));
    assert.ok(maxAbsDiff(ln.dataSync(), lnRef.dataSync()) < 1e-5);
    const gn = new GroupNorm(b, 4).forward(x);
    const m = tf.mean(x, [1, 2, 3], true);
    const gnRef = tf.div(tf.sub(x, m), tf.sqrt(tf.add(tf.mean(tf.square(tf.sub(x, m)), [1, 2, 3], true), 1e-5)));
    assert.ok(maxAbsDiff(gn.dataSync(), gnRef.dataSync()) < 1e-5);
    // GroupLinear: one matrix per group
    const gl = new GroupLinear(b, 2, 4, 3);
    const g = gl.forward(tf.reshape(x, [2, 30, 4]) as tf.Tensor3D);
    const g1 = tf.add(tf.matMul(tf.reshape(tf.slice(x, [1], [1]), [30, 4]), tf.reshape(tf.slice(gl.weight, [1], [1]), [4, 3])), tf.reshape(tf.slice(gl.bias, [1], [1]), [3]));
    assert.ok(maxAbsDiff(tf.slice(g, [1], [1]).dataSync(), g1.dataSync()) < 1e-5);
    // the MLP's names
    const mlp = new Mlp(b, 4, 8, { depthwise: true });
    assert.deepEqual(mlp.namedParameters().map(([n]) => n), ["fc1.weight", "fc1.bias", "dwconv.dwconv.weight", "dwconv.dwconv.bias", "fc2.weight", "fc2.bias"]);
    assert.deepEqual(mlp.forward(x).shape, [2, 5, 6, 4]);
    for (const mod of [lin, conv, dw, gl, mlp]) mod.dispose();
  });
  x.dispose();
});

test("GELU is the exact erf form", () => {
  const xs = [-4, -1.5, -0.3, 0, 0.7, 2, 5];
  const erf = (z: number): number => {
    // high-precision series/continued fraction is overkill: compare with a 1e-7-accurate erf
    const t = 1 / (1 + 0.5 * Math.abs(z));
    const y = 1 - t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
    return z >= 0 ? y : -y;
  };
  const y = tf.tidy(() => gelu(tf.tensor1d(xs)).dataSync());
  xs.forEach((v, i) => assert.ok(Math.abs(y[i]! - 0.5 * v * (1 + erf(v / Math.SQRT2))) < 2e-6, `gelu(${v})`));
});

test("drop path: identity at inference, whole samples dropped and rescaled in training; linear schedule", () => {
  const x = tf.ones([64, 2, 2, 3]);
  const rng = new Rng(1);
  assert.equal(dropPath(x, 0.3, false, rng), x);
  const y = tf.tidy(() => dropPath(x, 0.25, true, rng));
  const values = y.dataSync();
  const perSample = Array.from({ length: 64 }, (_, i) => values.slice(i * 12, (i + 1) * 12));
  for (const s of perSample) assert.ok(s.every((v) => v === s[0]) && (s[0] === 0 || Math.abs(s[0]! - 1 / 0.75) < 1e-6));
  const dropped = perSample.filter((s) => s[0] === 0).length;
  assert.ok(dropped > 5 && dropped < 30, `${dropped} of 64 dropped at rate 0.25`);
  tf.dispose([x, y]);
  assert.deepEqual(dropPathSchedule(0.1, [2, 2, 2, 2]).flat().map((r) => +r.toFixed(6)), [0, 1, 2, 3, 4, 5, 6, 7].map((i) => +((0.1 * i) / 7).toFixed(6)));
  assert.deepEqual(dropPathSchedule(0.1, [1]), [[0]]);
});
