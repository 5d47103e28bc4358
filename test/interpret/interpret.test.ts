/**
 * Cluster maps, masks, occlusion ranking and their displays. The tracing is checked against the
 * official visualisation's own algorithm (receptive fields built forward as lists of input
 * pixels, pool by pool), the blur against SciPy, and occlusion against a classifier whose
 * evidence sits in a known place.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { before, describe, test } from "node:test";
import { cluenet, engine, interpret, tf } from "../../lib/index.js";
import type { CluenetModel, ClusterTrace } from "../../lib/cluenet/index.js";

before(async () => {
  await engine.ready();
});

const tiny = (overrides: Record<string, unknown> = {}): CluenetModel =>
  cluenet.create("CLUE_nano_FMNIST", {
    numClasses: 3,
    seed: 3,
    inputSize: [16, 16],
    padTo: null,
    depths: [1, 1, 1],
    dims: [8, 8, 16],
    heads: [1, 2, 2],
    headDims: [8, 8, 8],
    mlpRatios: [2, 2, 2],
    clusters: 2,
    folds: 1,
    ...overrides,
  });

/**
 * The official visualisation's algorithm (`aggregate_masks_to_stage`): receptive fields as lists
 * of input pixels, built forward — stem blocks, then each pool appends a pixel's list to the
 * list of the pooled pixel it joined — and a cluster's mask is the union over its pixels.
 */
async function officialMaps(trace: ClusterTrace, image: number, stemBlock: number): Promise<Int32Array[][]> {
  const [hp, wp] = trace.input.size;
  const [h0, w0] = trace.stages[0]!.size;
  let fields: number[][] = Array.from({ length: h0 * w0 }, () => []);
  for (let r = 0; r < hp; r++) for (let c = 0; c < wp; c++) fields[Math.floor(r / stemBlock) * w0 + Math.floor(c / stemBlock)]!.push(r * wp + c);
  const out: Int32Array[][] = [];
  for (let s = 0; s < trace.stages.length; s++) {
    if (s > 0) {
      const pool = trace.pools[s - 1]!;
      const idx = (await pool.index.data()) as Int32Array;
      const n = pool.inSize[0] * pool.inSize[1];
      const next: number[][] = Array.from({ length: pool.outSize[0] * pool.outSize[1] }, () => []);
      for (let p = 0; p < n; p++) next[idx[image * n + p]!]!.push(...fields[p]!);
      fields = next;
    }
    const stage = trace.stages[s]!;
    const [hs, ws] = stage.size;
    const heads = stage.index.shape[1];
    const assigned = (await stage.index.data()) as Int32Array;
    const perHead: Int32Array[] = [];
    for (let h = 0; h < heads; h++) {
      const map = new Int32Array(hp * wp).fill(-1);
      for (let p = 0; p < hs * ws; p++) for (const q of fields[p]!) map[q] = assigned[(image * heads + h) * hs * ws + p]!;
      perHead.push(map);
    }
    out.push(perHead);
  }
  return out;
}

describe("cluster maps at input resolution", () => {
  test("equal the official visualisation's receptive-field composition, for every stage, head and image", async () => {
    const model = tiny();
    const x = tf.randomUniform([2, 16, 16, 1], 0, 1, "float32", 5) as tf.Tensor4D;
    const maps = await interpret.clusterMaps(model, x);
    const trace = model.trace(x);
    assert.deepEqual(maps.routes, ["stem", "cluster pooling", "cluster pooling"]);
    for (let b = 0; b < 2; b++) {
      const expected = await officialMaps(trace, b, 1);
      expected.forEach((heads, s) => heads.forEach((map, h) => assert.deepEqual(interpret.mapOf(maps, b, s, h), map, `image ${b} stage ${s} head ${h}`)));
    }
    // The pools really move pixels: later stages are not just 2×2 blocks of the earlier map.
    const later = interpret.mapOf(maps, 0, 2, 0);
    assert.ok(new Set(later).size > 1);
    tf.dispose([x, trace as unknown as tf.TensorContainer]);
    model.dispose();
  });

  test("a patchify stem (4×4 stride 4) gives every 4×4 input block one stage-0 pixel, as the official code", async () => {
    const model = tiny({ stem: { kernel: 4, stride: 4, pad: 0 }, inputSize: [32, 32], depths: [1, 1], dims: [8, 8], heads: [1, 1], headDims: [8, 8], mlpRatios: [2, 2] });
    const x = tf.randomUniform([1, 32, 32, 1], 0, 1, "float32", 6) as tf.Tensor4D;
    const maps = await interpret.clusterMaps(model, x);
    const trace = model.trace(x);
    const expected = await officialMaps(trace, 0, 4);
    expected.forEach((heads, s) => heads.forEach((map, h) => assert.deepEqual(interpret.mapOf(maps, 0, s, h), map, `stage ${s} head ${h}`)));
    tf.dispose([x, trace as unknown as tf.TensorContainer]);
    model.dispose();
  });

  test("padded inputs (28×28 → 32×32 in CLUE_nano_FMNIST) map back to the 28×28 image; strided-conv pools follow the 2×2 geometry", async () => {
    const model = cluenet.create("CLUE_nano_FMNIST", { numClasses: 10, seed: 1, pool: "conv", dims: [8, 8, 8, 8], heads: [1, 1, 1, 1], headDims: [8, 8, 8, 8], mlpRatios: [1, 1, 1, 1] });
    const x = tf.randomUniform([1, 28, 28, 1], 0, 1, "float32", 7) as tf.Tensor4D;
    const maps = await interpret.clusterMaps(model, x);
    assert.deepEqual([maps.height, maps.width], [28, 28]);
    assert.deepEqual(maps.routes, ["stem", "strided conv", "strided conv", "strided conv"]);
    const trace = model.trace(x);
    const stage0 = (await trace.stages[0]!.index.data()) as Int32Array; // 32×32, the image sits at offset 2
    const stage2 = (await trace.stages[2]!.index.data()) as Int32Array; // 8×8
    const m0 = interpret.mapOf(maps, 0, 0, 0);
    const m2 = interpret.mapOf(maps, 0, 2, 0);
    for (let r = 0; r < 28; r++) {
      for (let c = 0; c < 28; c++) {
        assert.equal(m0[r * 28 + c], stage0[(r + 2) * 32 + c + 2]);
        assert.equal(m2[r * 28 + c], stage2[Math.floor((r + 2) / 4) * 8 + Math.floor((c + 2) / 4)]);
      }
    }
    tf.dispose([x, trace as unknown as tf.TensorContainer]);
    model.dispose();
  });

  test("masks partition the image; bad indices are errors", async () => {
    const model = tiny();
    const x = tf.randomUniform([1, 16, 16, 1], 0, 1, "float32", 8) as tf.Tensor4D;
    const maps = await interpret.clusterMaps(model, x);
    for (let s = 0; s < 3; s++) {
      const list = interpret.masks(maps, 0, s, 0);
      const cover = new Uint8Array(256);
      for (const m of list) {
        assert.equal(m.pixels, m.mask.reduce((a, b) => a + b, 0));
        assert.ok(m.pixels > 0, "empty clusters are left out");
        m.mask.forEach((v, i) => (cover[i]! += v));
      }
      assert.ok(cover.every((v) => v === 1), `stage ${s}: every pixel in exactly one mask`);
    }
    assert.throws(() => interpret.masks(maps, 0, 5, 0), /stage 5 does not exist; the model has stages 0–2/);
    assert.throws(() => interpret.masks(maps, 0, 1, 2), /stage 1 has heads 0–1, not 2/);
    assert.throws(() => interpret.masks(maps, 1, 0, 0), /image 1 is not in the batch of 1/);
    await assert.rejects(interpret.clusterMaps({} as CluenetModel, x), /needs a CLUENet model/);
    x.dispose();
    model.dispose();
  });
});

describe("occlusion ranking", () => {
  test("the Gaussian blur is SciPy's gaussian_filter with mirror padding (torchvision's reflect)", async () => {
    const x = tf.randomUniform([1, 9, 11, 2], 0, 1, "float32", 9) as tf.Tensor4D;
    const blurred = interpret.gaussianBlur(x, 5, 1.5);
    const script = "import json,sys,numpy as np;from scipy.ndimage import gaussian_filter as g;d=json.load(sys.stdin);a=np.array(d['x'],dtype=np.float64).reshape(9,11,2);print(json.dumps([g(a[:,:,c],1.5,mode='mirror',truncate=2/1.5).tolist() for c in range(2)]))";
    const run = spawnSync("/usr/bin/python3", ["-c", script], { input: JSON.stringify({ x: Array.from(await x.data()) }), encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    const ref = JSON.parse(run.stdout) as number[][][];
    const ours = (await blurred.data()) as Float32Array;
    for (let r = 0; r < 9; r++) for (let c = 0; c < 11; c++) for (let k = 0; k < 2; k++) {
      assert.ok(Math.abs(ours[(r * 11 + c) * 2 + k]! - ref[k]![r]![c]!) < 1e-5, `(${r}, ${c}, ${k})`);
    }
    tf.dispose([x, blurred]);
  });

  test("drop and keep follow the paper's definitions, and the cluster holding the evidence ranks first", async () => {
    // A classifier whose class-0 logit is the mean brightness of the top-left 4×4 corner.
    const corner = tf.tensor4d(Array.from({ length: 64 }, (_, p) => (Math.floor(p / 8) < 4 && p % 8 < 4 ? 1 / 16 : 0)), [1, 8, 8, 1]);
    const classifier = {
      predict: (batch: tf.Tensor4D) => tf.tidy(() => tf.stack([tf.mul(tf.sum(tf.mul(batch, corner), [1, 2, 3]), 8), tf.fill([batch.shape[0]], 2)], 1) as tf.Tensor2D),
    };
    const pixels = new Float32Array(64).map((_, p) => (Math.floor(p / 8) < 4 && p % 8 < 4 ? 0.9 : 0.1));
    const image = tf.tensor3d(pixels, [8, 8, 1]);
    // Three "clusters": the evidence corner, the rest of the top half, the bottom half.
    const region = (f: (r: number, c: number) => boolean) => Uint8Array.from({ length: 64 }, (_, p) => (f(Math.floor(p / 8), p % 8) ? 1 : 0));
    const clusters = [
      { cluster: 0, mask: region((r, c) => r >= 4) },
      { cluster: 1, mask: region((r, c) => r < 4 && c >= 4) },
      { cluster: 2, mask: region((r, c) => r < 4 && c < 4) },
    ].map((m) => ({ ...m, pixels: m.mask.reduce((a, b) => a + b, 0) }));
    const before = tf.memory().numTensors;
    const result = await interpret.rankClusters(classifier, image, 0, clusters, { blurSigma: 1, blurKernel: 3 });
    assert.equal(tf.memory().numTensors, before, "occlusion leaked tensors");
    assert.equal(result.ranking[0]!.cluster, 2, "the corner holding the evidence ranks first");
    const p = (logit0: number) => Math.exp(logit0) / (Math.exp(logit0) + Math.exp(2));
    const mean = pixels.reduce((a, b) => a + b, 0) / 64;
    assert.ok(Math.abs(result.probability - p(0.9 * 8)) < 1e-5);
    const top = result.ranking[0]!;
    assert.ok(Math.abs(top.drop - (p(0.9 * 8) - p(mean * 8))) < 1e-5, "drop: the corner replaced by the image mean");
    const bottom = result.ranking.find((c) => c.cluster === 0)!;
    assert.ok(Math.abs(bottom.drop) < 1e-6, "replacing pixels the classifier ignores changes nothing");
    assert.ok(Math.abs(top.score - (top.drop + top.keep) / 2) < 1e-7);
    assert.ok(Math.abs(top.keep - result.probability) < 1e-5, "keeping only the corner keeps the decision (its pixels stay sharp)");
    tf.dispose([corner, image]);
  });

  test("ranks a real model's clusters without leaking", async () => {
    const model = tiny();
    const x = tf.randomUniform([1, 16, 16, 1], 0, 1, "float32", 10) as tf.Tensor4D;
    const maps = await interpret.clusterMaps(model, x);
    const list = interpret.masks(maps, 0, 1, 1);
    const before = tf.memory().numTensors;
    const { ranking } = await interpret.rankClusters(model, x, 2, list);
    assert.equal(tf.memory().numTensors, before);
    assert.equal(ranking.length, list.length);
    assert.ok(ranking.every((c, i) => i === 0 || ranking[i - 1]!.score >= c.score));
    x.dispose();
    model.dispose();
  });
});

describe("displays", () => {
  test("overlays side by side (a row per stage, heads across), a heatmap trace per stage and head", async () => {
    const model = tiny();
    const x = tf.randomUniform([2, 16, 16, 1], 0, 1, "float32", 11) as tf.Tensor4D;
    const pixels = await x.data();
    const maps = await interpret.clusterMaps(model, x);
    const grid = interpret.overlayGrid(maps, 1, { pixels }, { scale: 2 });
    // 3 stages × (image + 2 heads) tiles of 32 px with 4 px gaps.
    assert.deepEqual([grid.width, grid.height], [3 * 32 + 2 * 4, 3 * 32 + 2 * 4]);
    const html = grid.bundle["text/html"] as string;
    assert.match(html, /stage 0 \(16×16\)/);
    assert.match(html, /head 1: \d+ clusters/);
    const fig = interpret.heatmap(maps, 1);
    assert.equal(fig.figure.data.length, 1 + 2 + 2);
    assert.deepEqual((fig.figure.data[0]!.z as number[][]).flat(), Array.from(interpret.mapOf(maps, 1, 0, 0)));
    const one = interpret.overlay(maps, 0, 2, 1, { pixels }, { scale: 1 });
    assert.deepEqual([one.width, one.height], [16, 16]);
    assert.throws(() => interpret.overlayGrid(maps, 0, { pixels: new Float32Array(10) }), /the base image has 10 values/);
    const ranked = await interpret.rankClusters(model, x.slice([0], [1]) as tf.Tensor4D, 0, interpret.masks(maps, 0, 1, 0));
    const imp = interpret.importanceHeatmap(ranked, 16, 16);
    assert.match(String(imp.figure.layout!["title"] && (imp.figure.layout!["title"] as { text: string }).text), /cluster importance/);
    x.dispose();
    model.dispose();
  });
});
