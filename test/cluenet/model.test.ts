import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { cluenet, engine, tf } from "../../lib/index.js";
import { CluenetModel, WeightsError, type Assignment } from "../../lib/cluenet/index.js";
import type { Cluster } from "../../lib/cluenet/cluster.js";
import { Rng, serializeSafetensors } from "../../lib/nn/index.js";

/** Exact parameter counts of the official code (with the README's class counts). */
const PARAMS: Record<string, [number, number, string]> = {
  CLUE_nano_FMNIST: [10, 413_224, "413,224"],
  CLUE_mini_CIFAR: [100, 3_016_788, "3,016,788"],
  CLUE_mini: [100, 3_017_908, "3.02 M"],
  CLUE_tiny: [100, 5_680_430, "5.68 M"],
  CLUE_small: [100, 15_048_840, "15.05 M"],
  CLUE_base: [100, 30_198_452, "30.20 M"],
  CoC_mini_CIFAR: [100, 2_722_068, "2.72 M"],
};

const names = (m: CluenetModel): string[] => m.namedParameters().map(([n]) => n);
const input = (m: CluenetModel, batch: number, seed = 1): tf.Tensor4D =>
  tf.randomNormal([batch, ...m.config.inputSize, m.config.inChannels], 0, 1, "float32", seed) as tf.Tensor4D;
const nano = (overrides: Partial<cluenet.CreateOptions> = {}): CluenetModel =>
  cluenet.create("CLUE_nano_FMNIST", { numClasses: 10, ...overrides });

before(async () => {
  await engine.ready();
});

describe("configs", () => {
  test("the registry lists the paper's configs, a CPU config and the CoC baseline", () => {
    assert.deepEqual(cluenet.configs().map((c) => c.name), Object.keys(PARAMS));
  });

  test("parameter counts equal the official code's, and the README's rounded numbers", () => {
    for (const info of cluenet.configs()) {
      const [numClasses, exact, published] = PARAMS[info.name]!;
      assert.equal(info.published?.params, published);
      const model = new CluenetModel(cluenet.resolve(info.name, { numClasses }), { initialize: false });
      assert.equal(model.countParams(), exact, info.name);
      if (published.endsWith(" M")) assert.equal((exact / 1e6).toFixed(2), published.slice(0, -2));
      model.dispose();
    }
  });

  test("CLUE_nano_FMNIST: depths 1,2,1,1, dims 16–128, heads 1,2,4,8 × 16, MLP ratio 4, 4×4 clusters, 1 channel, 28→32", () => {
    const c = cluenet.resolve("CLUE_nano_FMNIST", { numClasses: 10 });
    assert.deepEqual([c.depths, c.dims, c.heads, c.headDims, c.mlpRatios], [[1, 2, 1, 1], [16, 32, 64, 128], [1, 2, 4, 8], [16, 16, 16, 16], [4, 4, 4, 4]]);
    assert.deepEqual(c.clusters, [[4, 4], [4, 4], [4, 4], [4, 4]]);
    assert.deepEqual([c.inChannels, c.inputSize, c.padTo, c.stem], [1, [28, 28], [32, 32], { kernel: 3, stride: 1, pad: 1 }]);
  });

  test("initialisation follows the official code (CLUENet's and Context Clusters' schemes)", () => {
    const stats = (m: CluenetModel, name: string): { std: number; maxAbs: number; mean: number; values: Float32Array } => {
      const [, p] = m.namedParameters().find(([n]) => n === name)!;
      const values = p.variable.dataSync() as Float32Array;
      const mean = values.reduce((a, v) => a + v, 0) / values.length;
      const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
      return { std, mean, maxAbs: values.reduce((a, v) => Math.max(a, Math.abs(v)), 0), values };
    };
    const near = (actual: number, expected: number, rel: number, what: string): void =>
      assert.ok(Math.abs(actual - expected) <= rel * expected, `${what}: ${actual} vs ${expected}`);
    const m = cluenet.create("CLUE_mini_CIFAR", { numClasses: 100, seed: 4 });
    near(stats(m, "head.weight").std, 0.02, 0.05, "Linear: trunc-normal std 0.02");
    near(stats(m, "network.0.blocks.0.token_mixer.q.weight").std, 0.02, 0.1, "q");
    near(stats(m, "network.0.blocks.0.token_mixer.k.weight").std, Math.sqrt(2 / 32), 0.1, "1×1 conv: normal √(2/fan_out)");
    near(stats(m, "network.1.conv_skip.weight").std, Math.sqrt(2 / (9 * 64)), 0.05, "3×3 conv");
    near(stats(m, "pos_embed.proj.0.weight").std, Math.sqrt(2 / 9), 0.15, "depthwise conv: fan_out 9");
    const gate = stats(m, "network.0.blocks.0.token_mixer.gate.fc1.weight"); // [1, 16, 64]: bound 1/√(16·64)
    assert.ok(gate.maxAbs <= 1 / 32 && gate.maxAbs > 0.9 / 32, `gate kaiming-uniform bound ${gate.maxAbs}`);
    for (const zero of ["head.bias", "network.0.blocks.0.token_mixer.k.bias", "network.0.blocks.0.token_mixer.gate.fc1.bias", "network.0.blocks.0.norm1.bias", "network.0.blocks.0.token_mixer.sim_beta"]) {
      assert.equal(stats(m, zero).maxAbs, 0, zero);
    }
    assert.ok(stats(m, "network.0.blocks.0.norm1.weight").values.every((v) => v === 1));
    assert.ok(stats(m, "network.0.blocks.0.token_mixer.sim_alpha").values.every((v) => v === 1));
    near(stats(m, "network.0.blocks.0.token_mixer.attn_alpha").mean, Math.log(2.13), 1e-6, "attn_alpha = ln 2.13");
    m.dispose();
    const coc = cluenet.create("CoC_mini_CIFAR", { numClasses: 100, seed: 4 });
    const f = stats(coc, "network.0.0.token_mixer.f.weight"); // PyTorch's default: U(±1/√fan_in), fan_in 32
    assert.ok(f.maxAbs <= 1 / Math.sqrt(32) && f.maxAbs > 0.9 / Math.sqrt(32));
    assert.ok(stats(coc, "network.0.0.token_mixer.f.bias").maxAbs > 0, "conv biases are not zero in Context Clusters");
    assert.ok(stats(coc, "network.0.0.layer_scale_1").values.every((v) => Math.abs(v - 1e-5) < 1e-12));
    near(stats(coc, "network.0.0.mlp.fc1.weight").std, 0.02, 0.1, "Linear");
    coc.dispose();
  });

  test("bad names and options are errors that say what to do", () => {
    assert.throws(() => cluenet.create("CLUE_huge", { numClasses: 10 }), /unknown CLUENet configuration "CLUE_huge"; the registry has CLUE_nano_FMNIST/);
    assert.throws(() => cluenet.create("CLUE_mini", {} as cluenet.CreateOptions), /needs numClasses/);
    assert.throws(() => nano({ gates: false } as never), /unknown option "gates"/);
    assert.throws(() => nano({ pool: "max" as never }), /pool must be "icp", "fec" or "conv"/);
    assert.throws(() => nano({ depths: [1, 2] }), /dims must list one value per stage \(2\)/);
    assert.throws(() => nano({ clusters: 3, folds: 2 }), /clusters 3×3 cannot be split into 2×2 fold regions/);
    assert.throws(() => nano({ dropPathRate: 1 }), /dropPathRate must be in \[0, 1\)/);
  });
});

describe("model", () => {
  test("the gate's forward gives the g that its fused mix applies: (1 − g)·Ca + g·Vc", () => {
    const model = nano({ seed: 3 });
    const gate = (model.stages[1]!.blocks[0]!.tokenMixer as unknown as Cluster).gate!;
    const [heads, m, d] = [2, 16, 16];
    const Ca = tf.randomNormal([heads, m, d], 0, 1, "float32", 4) as tf.Tensor3D;
    const Vc = tf.randomNormal([heads, m, d], 0, 1, "float32", 5) as tf.Tensor3D;
    const g = gate.forward(Ca, Vc);
    assert.deepEqual(g.shape, [heads, m, 1]);
    const mixed = gate.mix(Ca, engine.mergeHeads(Vc, 1, m, heads, d));
    const want = tf.add(tf.mul(tf.sub(1, g), Ca), tf.mul(g, Vc));
    const worst = tf.max(tf.abs(tf.sub(mixed, want))).dataSync()[0]!;
    assert.ok(worst < 1e-5, `mix differs from (1 − g)·Ca + g·Vc by ${worst}`);
    tf.dispose([Ca, Vc, g, mixed, want]);
    model.dispose();
  });

  test("forward and trace shapes for the CPU-sized configs", () => {
    for (const [name, numClasses] of [["CLUE_nano_FMNIST", 10], ["CLUE_mini_CIFAR", 100], ["CoC_mini_CIFAR", 100]] as const) {
      const model = cluenet.create(name, { numClasses });
      const x = input(model, 2);
      const logits = model.predict(x);
      assert.deepEqual(logits.shape, [2, numClasses]);
      assert.deepEqual(model.features(x).shape, [2, model.config.dims[3]]);
      const trace = model.trace(x);
      const c = model.config;
      trace.stages.forEach((s, i) => {
        const [h, w] = [32 >> i, 32 >> i];
        const m = c.clusters[i]![0] * c.clusters[i]![1];
        assert.deepEqual(s.S.shape, [2, c.heads[i], h * w, m], `${name} stage ${i} S`);
        assert.deepEqual(s.index.shape, [2, c.heads[i], h, w]);
        assert.equal(s.index.dtype, "int32");
        const idx = s.index.dataSync();
        assert.ok(idx.every((v) => v >= 0 && v < m));
        // one non-zero per pixel row of S, at the index
        const S = s.S.dataSync();
        for (let p = 0; p < idx.length; p += 97) {
          const row = S.slice(p * m, (p + 1) * m);
          assert.equal(row.filter((v) => v !== 0).length, 1);
          assert.ok(row[idx[p]!]! > 0 && row[idx[p]!]! < 1);
        }
      });
      assert.equal(trace.pools.length, 3);
      trace.pools.forEach((p, i) => {
        if (c.pool === "conv") return assert.equal(p, null);
        assert.deepEqual(p!.index.shape, [2, 32 >> i, 32 >> i]);
        assert.deepEqual(p!.outSize, [16 >> i, 16 >> i]);
        assert.ok(p!.index.dataSync().every((v) => v >= 0 && v < (16 >> i) * (16 >> i)));
      });
      assert.deepEqual(trace.input.size, [32, 32]);
      assert.equal(trace.input.stemStride, 1);
      tf.dispose([x, logits, trace as unknown as tf.TensorContainer]);
      model.dispose();
    }
  });

  test("28×28 inputs are zero-padded to 32×32; 224 configs run other sizes through adaptive pooling", () => {
    const model = nano();
    const x = input(model, 1);
    const padded = tf.pad(x, [[0, 0], [2, 2], [2, 2], [0, 0]]) as tf.Tensor4D;
    const a = model.predict(x);
    const b = model.predict(padded);
    assert.ok(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! < 1e-6);
    assert.deepEqual(model.trace(x).input.padding, [4, 4]);
    tf.dispose([x, padded, a, b]);
    model.dispose();
    const mini = cluenet.create("CLUE_mini", { numClasses: 5 });
    const small = tf.randomNormal([1, 64, 64, 3]) as tf.Tensor4D; // stage maps 16, 8, 4, 2 under a 7×7 grid
    const trace = mini.trace(small);
    assert.deepEqual(trace.logits.shape, [1, 5]);
    assert.deepEqual(trace.stages[3]!.S.shape, [1, 8, 4, 49]);
    tf.dispose([small, trace as unknown as tf.TensorContainer]);
    mini.dispose();
  });

  test("bad inputs are errors that say what is expected", () => {
    const model = nano();
    const cases: Array<[tf.Tensor, RegExp]> = [
      [tf.zeros([28, 28, 1]), /rank-3 tensor \[28, 28, 1\] \(add a batch axis/],
      [tf.zeros([2, 1, 28, 28]), /got 28 channels .* looks like NCHW/],
      [tf.zeros([2, 28, 28, 1], "int32"), /got int32/],
      [tf.zeros([1, 30, 36, 1]), /pooling after stage 2 halves a 8×9 map, which needs even sides/],
    ];
    for (const [x, message] of cases) {
      assert.throws(() => model.predict(x as tf.Tensor4D), message);
      x.dispose();
    }
    model.dispose();
    assert.throws(() => model.predict(tf.zeros([1, 28, 28, 1])), /was disposed/);
  });

  test("inference is deterministic; training applies seeded drop path", () => {
    const a = nano({ seed: 3 });
    const b = nano({ seed: 3 });
    const x = input(a, 8);
    const [pa, pb] = [a.predict(x), b.predict(x)];
    assert.equal(tf.max(tf.abs(tf.sub(pa, pb))).dataSync()[0], 0, "same seed, same weights");
    const [ta, tb] = [a.apply(x, { training: true }), b.apply(x, { training: true })];
    assert.equal(tf.max(tf.abs(tf.sub(ta, tb))).dataSync()[0], 0, "same seed, same drop-path masks");
    assert.ok(tf.max(tf.abs(tf.sub(ta, pa))).dataSync()[0]! > 1e-4, "training differs from inference");
    tf.dispose([x, pa, pb, ta, tb]);
    a.dispose();
    b.dispose();
  });

  test("no tensors leak through forward, trace, backward and dispose", () => {
    const start = tf.memory().numTensors;
    const model = nano();
    const x = input(model, 2);
    tf.dispose(model.predict(x)); // first call caches the coordinate grid
    const warm = tf.memory().numTensors;
    tf.dispose(model.predict(x));
    tf.dispose(model.apply(x, { training: true }));
    tf.dispose(model.trace(x) as unknown as tf.TensorContainer);
    const { value, grads } = tf.variableGrads(() => tf.mean(model.apply(x, { training: true })) as tf.Scalar);
    tf.dispose([value, grads]);
    const optimizer = tf.train.adam(1e-3);
    optimizer.minimize(() => tf.mean(model.apply(x, { training: true })) as tf.Scalar);
    optimizer.dispose();
    assert.equal(tf.memory().numTensors, warm);
    model.dispose();
    x.dispose();
    assert.equal(tf.memory().numTensors, start);
  });
});

describe("gradients", () => {
  test("reach every trainable weight in training mode (wasm)", () => {
    const model = nano();
    const x = input(model, 4);
    const labels = tf.oneHot(tf.tensor1d([0, 3, 5, 9], "int32"), 10);
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true })) as tf.Scalar);
    for (const [name, p] of model.namedParameters()) {
      const g = grads[p.variable.name];
      assert.ok(g, `no gradient for ${name}`);
      const values = g.dataSync();
      assert.ok(values.every(Number.isFinite), `non-finite gradient for ${name}`);
      assert.ok(values.some((v) => v !== 0), `zero gradient for ${name}`);
    }
    assert.equal(Object.keys(grads).length, model.trainableWeights.length);
    tf.dispose([x, labels, value, grads]);
    model.dispose();
  });

  test("block 0's assignment parameters learn through the later blocks that share its S", () => {
    for (const share of [true, false]) {
      const model = nano({ shareAssignment: share });
      // silence block 0's own output in stage 1 (2 blocks): its S can then only matter through block 1
      const stage = model.stages[1]!;
      const first = stage.blocks[0]!.tokenMixer as unknown as Cluster;
      first.proj.weight.assign(tf.zerosLike(first.proj.weight));
      first.proj.bias!.assign(tf.zerosLike(first.proj.bias!));
      const x = input(model, 2);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(model.apply(x))) as tf.Scalar);
      const norm = (leaf: string): number => {
        const [, p] = model.namedParameters().find(([n]) => n === `network.2.blocks.0.token_mixer.${leaf}`)!;
        return tf.tidy(() => tf.norm(grads[p.variable.name]!).dataSync()[0]!);
      };
      for (const leaf of ["q.weight", "q.bias", "sim_alpha", "sim_beta"]) {
        if (share) assert.ok(norm(leaf) > 0, `${leaf} gets no gradient through block 1`);
        else assert.equal(norm(leaf), 0, `${leaf} should not matter when block 1 assigns on its own`);
      }
      tf.dispose([x, value, grads]);
      model.dispose();
    }
  });
});

describe("ablation switches change what they claim", () => {
  test("gate: false removes the gate and uses the aggregated centers", () => {
    const on = nano();
    const off = nano({ gate: false });
    const gateNames = names(on).filter((n) => n.includes(".gate."));
    assert.ok(gateNames.length > 0);
    assert.deepEqual(names(off), names(on).filter((n) => !n.includes(".gate.")));
    // per block: heads·(2d·⌊d/2⌋ + ⌊d/2⌋ + ⌊d/2⌋ + 1), d = 16
    const perBlock = (h: number): number => h * (32 * 8 + 8 + 8 + 1);
    assert.equal(on.countParams() - off.countParams(), perBlock(1) + 2 * perBlock(2) + perBlock(4) + perBlock(8));
    on.dispose();
    off.dispose();
  });

  test("shareAssignment: later blocks reuse the first block's S (and own no q, α, β) or assign on their own", () => {
    const shared = nano();
    const own = nano({ shareAssignment: false });
    const assigning = (m: CluenetModel): string[] => names(m).filter((n) => /token_mixer\.(q\.weight|sim_alpha)$/.test(n));
    assert.deepEqual(assigning(shared), [
      "network.0.blocks.0.token_mixer.sim_alpha", "network.0.blocks.0.token_mixer.q.weight",
      "network.2.blocks.0.token_mixer.sim_alpha", "network.2.blocks.0.token_mixer.q.weight",
      "network.4.blocks.0.token_mixer.sim_alpha", "network.4.blocks.0.token_mixer.q.weight",
      "network.6.blocks.0.token_mixer.sim_alpha", "network.6.blocks.0.token_mixer.q.weight",
    ]);
    assert.ok(assigning(own).includes("network.2.blocks.1.token_mixer.q.weight"));
    // behaviour: block 1 of stage 1 dispatches with whatever S it is handed only when sharing
    for (const [model, reuses] of [[shared, true], [own, false]] as const) {
      tf.tidy(() => {
        const block = model.stages[1]!.blocks[1]!;
        const x = tf.randomNormal([1, 16, 16, 32], 0, 1, "float32", 4) as tf.Tensor4D;
        const ctx = { training: false, rng: new Rng(1) };
        const a = block.forward(x, fakeAssignment(1, 2, 256, 0), ctx);
        const b = block.forward(x, fakeAssignment(1, 2, 256, 5), ctx);
        const changed = tf.max(tf.abs(tf.sub(a.x, b.x))).dataSync()[0]! > 1e-4;
        assert.equal(changed, reuses);
      });
    }
    shared.dispose();
    own.dispose();
  });

  test("aggregation: local-hard replaces the temperature with CoC's α, β and keeps pixels in their fold", () => {
    const model = nano({ aggregation: "local-hard", folds: 2 });
    const n = names(model);
    assert.ok(!n.some((x) => x.endsWith("attn_alpha")));
    assert.ok(n.includes("network.0.blocks.0.token_mixer.agg_alpha") && n.includes("network.6.blocks.0.token_mixer.agg_beta"));
    const x = input(model, 1);
    assert.deepEqual(model.predict(x).shape, [1, 10]);
    tf.dispose(x);
    model.dispose();
  });

  test("pool: ICP, FEC's pool and a strided conv have their own parameters; only cluster pools report an argmax", () => {
    const pools: Record<string, string[]> = {
      icp: ["norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias", "conv_f.weight", "conv_f.bias", "conv_v.0.weight", "conv_v.0.bias", "conv_v.2.weight", "conv_v.2.bias", "conv_skip.weight", "conv_skip.bias"],
      fec: ["norm2.weight", "norm2.bias", "conv_f.weight", "conv_f.bias", "conv_v.weight", "conv_v.bias", "conv_skip.weight", "conv_skip.bias"],
      conv: ["proj.weight", "proj.bias"],
    };
    for (const [pool, expected] of Object.entries(pools)) {
      const model = nano({ pool: pool as "icp" });
      assert.deepEqual(names(model).filter((n) => n.startsWith("network.1.")).map((n) => n.slice(10)), expected);
      const x = input(model, 1);
      const trace = model.trace(x);
      assert.equal(trace.pools.every((p) => p === null), pool === "conv");
      tf.dispose([x, trace as unknown as tf.TensorContainer]);
      model.dispose();
    }
  });

  test("clusters sets the grid of centers", () => {
    const model = nano({ clusters: [2, 2, 1, 1] });
    const x = input(model, 1);
    const trace = model.trace(x);
    assert.deepEqual(trace.stages.map((s) => s.S.shape[3]), [4, 4, 1, 1]);
    assert.ok(trace.stages[3]!.index.dataSync().every((v) => v === 0));
    tf.dispose([x, trace as unknown as tf.TensorContainer]);
    model.dispose();
  });

  test("learnableTemperature: false fixes τ (no attn_alpha); a learnable τ at the same value computes the same", () => {
    const fixed = nano({ learnableTemperature: false, temperature: 0.7 });
    const learnable = nano({ temperature: 0.7 });
    const other = nano({ learnableTemperature: false, temperature: 3 });
    assert.ok(!names(fixed).some((n) => n.endsWith("attn_alpha")));
    assert.equal(names(learnable).filter((n) => n.endsWith("attn_alpha")).length, 5);
    assert.ok(!fixed.trainableWeights.some((v) => v.shape.length === 0));
    const x = input(fixed, 2);
    const [a, b, c] = [fixed.predict(x), learnable.predict(x), other.predict(x)];
    assert.ok(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! < 1e-5);
    assert.ok(tf.max(tf.abs(tf.sub(a, c))).dataSync()[0]! > 1e-3);
    tf.dispose([x, a, b, c]);
    for (const m of [fixed, learnable, other]) m.dispose();
  });

  test("mixer: coc puts Context Clusters' mixer in every block, each assigning on its own", () => {
    const model = nano({ mixer: "coc" });
    const mixers = names(model).filter((n) => n.includes("token_mixer."));
    assert.ok(mixers.every((n) => /token_mixer\.(f|v|proj)\.(weight|bias)$|token_mixer\.sim_(alpha|beta)$/.test(n)));
    assert.equal(mixers.filter((n) => n.endsWith("sim_alpha")).length, 5);
    assert.ok(names(model).includes("pos_embed.proj.0.weight"), "the CLUENet skeleton stays");
    model.dispose();
  });
});

describe("weights", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "cluelab-weights-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("save → load round-trips every parameter; loadPretrained infers classes and channels", async () => {
    const a = nano({ seed: 1, inChannels: 3, numClasses: 7 });
    const file = join(dir, "a.safetensors");
    await a.saveWeights(file);
    const b = await cluenet.loadPretrained("CLUE_nano_FMNIST", file);
    assert.equal(b.config.numClasses, 7);
    assert.equal(b.config.inChannels, 3);
    for (const [[na, pa], [nb, pb]] of a.namedParameters().map((e, i) => [e, b.namedParameters()[i]!] as const)) {
      assert.equal(na, nb);
      assert.deepEqual(pa.variable.dataSync(), pb.variable.dataSync(), na);
    }
    const c = nano({ seed: 2, inChannels: 3, numClasses: 7 });
    await c.loadWeights(file);
    const x = input(a, 2);
    assert.equal(tf.max(tf.abs(tf.sub(a.predict(x), c.predict(x)))).dataSync()[0], 0);
    tf.dispose(x);
    for (const m of [a, b, c]) m.dispose();
  });

  test("a state_dict that does not fit is one error listing everything, and nothing loads", async () => {
    const source = nano({ seed: 1, numClasses: 5 });
    const file = join(dir, "five.safetensors");
    await source.saveWeights(file);
    source.dispose();
    const target = nano({ seed: 2 });
    const before = target.trainableWeights.map((v) => v.dataSync().slice());
    await assert.rejects(target.loadWeights(file), (e: Error) => {
      assert.ok(e instanceof WeightsError);
      assert.deepEqual(e.mismatched.map((m) => m.name), ["head.weight", "head.bias"]);
      assert.match(e.message, /head\.weight: the model has \[10, 128\], the file \[5, 128\]/);
      assert.match(e.message, /pass \{ numClasses: 5 \}/);
      return true;
    });
    target.trainableWeights.forEach((v, i) => assert.deepEqual(v.dataSync(), before[i], "unchanged after a failed load"));
    // missing, unexpected (DataParallel's "module." prefix) and wrong dtype, all at once
    const entries = target.namedParameters()
      .slice(2)
      .filter(([n]) => n !== "head.bias")
      .map(([n, p]): [string, { shape: number[]; data: Float32Array | Int32Array }] => [n === "norm.weight" ? `module.${n}` : n, { shape: p.officialShape, data: new Float32Array(p.size) }]);
    const bytes = serializeSafetensors([...entries, ["head.bias", { shape: [10], data: new Int32Array(10) }]]);
    await assert.rejects(target.loadWeights(bytes), (e: Error) => {
      assert.ok(e instanceof WeightsError);
      assert.deepEqual(e.missing, ["patch_embed.proj.weight", "patch_embed.proj.bias", "norm.weight"]);
      assert.deepEqual(e.unexpected, ["module.norm.weight"]);
      assert.deepEqual(e.mismatched, [{ name: "head.bias", expected: [10], found: "I32" }]);
      assert.match(e.message, /strip that prefix/);
      return true;
    });
    target.trainableWeights.forEach((v, i) => assert.deepEqual(v.dataSync(), before[i]));
    target.dispose();
  });
});

/** An assignment sending every pixel to center `center` with weight 0.9. */
function fakeAssignment(batch: number, heads: number, n: number, center: number): Assignment {
  const index = tf.fill([heads * batch, n], center, "int32") as tf.Tensor2D;
  return { index, score: tf.fill([heads * batch, n], 0.9) as tf.Tensor2D };
}
