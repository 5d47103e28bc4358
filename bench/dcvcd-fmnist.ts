/**
 * `npm run bench -- dcvcd-fmnist [--json] [--quick] [options]`: the Fashion-MNIST result, all
 * 70,000 images, in one run:
 *
 *  1. k-means on pixels (k = 10, k-means++), ours beside scikit-learn's on the same data;
 *  2. the backbone, pre-trained on the 60,000 training images, then k-means on its embeddings of
 *     all 70,000: `--backbone ae` (default) the DEC/N2D autoencoder 784-500-500-2000-10 trained to
 *     reconstruct the pixels (MSE), or `--backbone cnn` a small CNN pre-trained with SimCLR (two
 *     augmented views, NT-Xent);
 *  3. the backbone's embeddings clustered by community detection instead: Leiden on their cosine
 *     kNN graph (15 neighbours) at the resolution that gives 10 communities (`leidenClusters`);
 *     with `--init umap` (or `--umap`), also N2D's manifold step: UMAP to 10 dimensions (20
 *     neighbours, min_dist 0) then k-means;
 *  4. backbone + DCvCD: the pipeline refining the labels `--init` names (kmeans: step 2's, the
 *     default; leiden or umap: step 3's), fine-tuning the encoder each round.
 *
 * ACC/NMI/ARI against the true classes and wall times, beside the published anchors (k-means
 * 47/51, AE + k-means 60.6/63.7, DEC 61.8/65.1, N2D 67.2/68.4). The pre-trained weights are cached (keyed by every
 * setting that shapes them), so DCvCD can be rerun without pre-training again; asking for more
 * epochs than a cached file has continues from it (with a fresh projection head and optimizer).
 * k-means everywhere keeps the best of 10 starts (scikit-learn too).
 *
 * Options: --backbone ae|cnn (ae), --pretrain-epochs N (ae 30, cnn 15), --hidden a,b,c (ae: 500,500,2000),
 * --channels a,b,c (cnn: 16,32,64), --embedding-dim N (ae 10, cnn 64), --no-dcvcd (stop after the backbone), --init kmeans|leiden|umap (DCvCD's initial labels, kmeans; --umap = --init umap), --epochs-per-round N (1),
 * --merges-per-main N (5), --fine-tune-samples N (8192), --max-rounds N (40), --pool-resolution X (1), --graph-threshold X
 * (0.5, the paper's cosine threshold; cap 50 neighbours), --seed N (0),
 * --cache DIR (~/.cache/cluelab/bench), --no-sklearn, --no-pixels (skip k-means on pixels, for DCvCD-only reruns). --quick: 10,000 images, 1 pre-training epoch.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { tf, ready, engineInfo } from "../lib/engine/index.js";
import { kmeans, leidenClusters, umap } from "../lib/clustering/baselines/index.js";
import * as dcvcd from "../lib/clustering/dcvcd/index.js";
import { DEFAULT_GRAPH, type GraphSpec } from "../lib/clustering/graph/index.js";
import type { Scores } from "../lib/clustering/dcvcd/index.js";
import { ari, clusteringAccuracy, nmi } from "../lib/clustering/metrics/index.js";
import { fashionMnist, type ImageDataset } from "../lib/data/index.js";
import * as transforms from "../lib/data/transforms/index.js";
import { readSafetensors, toFloat32, writeSafetensors } from "../lib/nn/index.js";
import { autoencoderPretrain } from "../lib/train/autoencoder.js";
import { contrastivePretrain } from "../lib/train/contrastive.js";
import type { Encoder } from "../lib/train/encoder.js";
import { autoencoder } from "../lib/train/encoders/autoencoder.js";
import { smallCnn } from "../lib/train/encoders/small-cnn.js";
import type { BenchOptions } from "./types.js";

/** DCvCD's graph (the paper's cosine threshold, capped per node); `--graph-threshold` changes the threshold. */
const PAPER_GRAPH = DEFAULT_GRAPH as Extract<GraphSpec, { kind: "threshold" }>;

/** Neighbours per node of the kNN graph `leidenClusters` runs on (N2D's UMAP uses 20, scikit-learn's spectral clustering 10). */
const LEIDEN_NEIGHBOURS = 15;

/** k-means starts (best inertia wins): one start's ACC varies by ±2 points with the seed here. */
const KMEANS_STARTS = 10;

type Backbone = "ae" | "cnn";

/** Where DCvCD's initial labels come from. */
type Init = "kmeans" | "leiden" | "umap";

interface Settings {
  quick: boolean;
  backbone: Backbone;
  pretrainEpochs: number;
  /** The autoencoder's hidden widths (ae). */
  hidden: number[];
  /** The CNN's channels (cnn). */
  channels: [number, number, number];
  embeddingDim: number;
  epochsPerRound: number;
  mergesPerMain: number;
  fineTuneSamples: number;
  maxRounds: number;
  poolResolution: number;
  seed: number;
  cache: string;
  sklearn: boolean;
  pixels: boolean;
  dcvcd: boolean;
  init: Init;
  graphThreshold: number;
}

export interface ResultRow extends Scores {
  method: string;
  seconds: number;
  note?: string;
}

function settings(args: string[]): Settings {
  const value = (name: string, fallback: string) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
  };
  const int = (name: string, fallback: number) => {
    const v = Number(value(name, String(fallback)));
    if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer, got ${value(name, "")}`);
    return v;
  };
  const positive = (name: string, fallback: number) => {
    const v = Number(value(name, String(fallback)));
    if (!(v > 0)) throw new Error(`${name} must be a positive number, got ${value(name, "")}`);
    return v;
  };
  const quick = args.includes("--quick");
  const backbone = value("--backbone", "ae");
  if (backbone !== "ae" && backbone !== "cnn") throw new Error(`--backbone must be ae (the DEC/N2D autoencoder) or cnn (small CNN + SimCLR), got ${backbone}`);
  const widths = (name: string, fallback: string) => {
    const list = value(name, fallback).split(",").map(Number);
    if (!list.every((w) => Number.isInteger(w) && w > 0)) throw new Error(`${name} must be positive integers separated by commas, got ${value(name, "")}`);
    return list;
  };
  const init = args.includes("--umap") ? "umap" : value("--init", "kmeans");
  if (init !== "kmeans" && init !== "leiden" && init !== "umap") throw new Error(`--init must be kmeans, leiden or umap, got ${init}`);
  const channels = widths("--channels", "16,32,64");
  if (channels.length !== 3) throw new Error(`--channels takes three widths, got ${channels.join(",")}`);
  return {
    quick,
    backbone,
    pretrainEpochs: int("--pretrain-epochs", quick ? 1 : backbone === "ae" ? 30 : 15),
    hidden: widths("--hidden", "500,500,2000"),
    channels: channels as [number, number, number],
    embeddingDim: int("--embedding-dim", backbone === "ae" ? 10 : 64),
    epochsPerRound: int("--epochs-per-round", 1),
    mergesPerMain: int("--merges-per-main", 5),
    fineTuneSamples: int("--fine-tune-samples", 8192),
    maxRounds: int("--max-rounds", quick ? 5 : 40),
    poolResolution: positive("--pool-resolution", 1),
    seed: int("--seed", 0),
    cache: value("--cache", join(homedir(), ".cache", "cluelab", "bench")),
    sklearn: !args.includes("--no-sklearn"),
    pixels: !args.includes("--no-pixels"),
    dcvcd: !args.includes("--no-dcvcd"),
    init,
    graphThreshold: Number(value("--graph-threshold", String(PAPER_GRAPH.threshold))),
  };
}

/** SimCLR views for grey 28×28 clothes: crops of 20–100 % of the area, flips, brightness/contrast. */
function fashionViews(): transforms.MultiView {
  return transforms.twoViews(
    transforms.compose([
      transforms.randomResizedCrop(28, { scale: [0.2, 1] }),
      transforms.randomHorizontalFlip(),
      transforms.colorJitter({ brightness: 0.4, contrast: 0.4, p: 0.8 }),
      transforms.normalize(transforms.stats.fashionMnist),
    ]),
  );
}

export async function run({ json, args }: BenchOptions): Promise<void> {
  const s = settings(args);
  await ready();
  const backend = (await engineInfo())!.backend;
  log(`backend ${backend}; settings ${JSON.stringify(s)}`);
  const rows: ResultRow[] = [];

  // All 70,000 images (train then test), pixels in [0, 1].
  const train = await fashionMnist({ split: "train" });
  const test = await fashionMnist({ split: "test" });
  const parts = await Promise.all([train.toTensors(), test.toTensors()]);
  let pixels = new Float32Array(70_000 * 784);
  let truth = new Int32Array(70_000);
  pixels.set(await parts[0].x.data(), 0);
  pixels.set(await parts[1].x.data(), 60_000 * 784);
  truth.set(await parts[0].y.data(), 0);
  truth.set(await parts[1].y.data(), 60_000);
  tf.dispose(parts.flatMap((p) => [p.x, p.y]));
  const n = s.quick ? 10_000 : 70_000;
  pixels = pixels.subarray(0, n * 784);
  truth = truth.subarray(0, n);

  // 1. k-means on pixels.
  let started = performance.now();
  if (s.pixels) {
    const onPixels = await kmeans({ data: pixels, rows: n, cols: 784 }, 10, { seed: s.seed, nInit: KMEANS_STARTS });
    rows.push({ method: `k-means on pixels (cluelab, ${KMEANS_STARTS} starts)`, ...score(truth, onPixels.labels), seconds: elapsed(started) });
    log(`k-means on pixels: ${fmt(rows.at(-1)!)}`);
    if (s.sklearn) {
      const peer = sklearnKmeans(pixels, n, s.seed, s.cache);
      if (peer) rows.push({ method: `k-means on pixels (scikit-learn, ${KMEANS_STARTS} starts)`, ...score(truth, peer.labels), seconds: peer.seconds });
    }
  }

  // 2. The backbone, pre-trained on the training images, cached.
  const { encoder, variables, stem, description, inputs, pretrain } = makeBackbone(s, pixels, n);
  const tail = `-s${s.seed}${s.quick ? "-quick" : ""}.safetensors`;
  const file = join(s.cache, `${stem}-e${s.pretrainEpochs}${tail}`);
  let pretrainSeconds = 0;
  if (existsSync(file)) {
    await loadWeights(variables, file);
    log(`backbone weights from ${file}`);
  } else {
    // Continue from the longest cached pre-training of the same encoder, if any (a fresh optimizer, and head for SimCLR).
    const done = existsSync(s.cache)
      ? Math.max(0, ...readdirSync(s.cache).map((f) => (f.startsWith(`${stem}-e`) && f.endsWith(tail) ? Number(f.slice(stem.length + 2, -tail.length)) : 0)).filter((e) => e < s.pretrainEpochs))
      : 0;
    if (done > 0) {
      await loadWeights(variables, join(s.cache, `${stem}-e${done}${tail}`));
      log(`continuing from ${done} cached epochs`);
    }
    const data = s.quick ? train.subset(10_000, { seed: s.seed }) : train;
    const record = await pretrain(data, done);
    pretrainSeconds = record.seconds;
    mkdirSync(s.cache, { recursive: true });
    await saveWeights(variables, file);
    log(`  ${record.imagesPerSecond.toFixed(0)} images/s; weights saved to ${file}`);
  }
  started = performance.now();
  const embedded = await dcvcd.embedAll(encoder, await dcvcd.SampleBatches.from(inputs), 512);
  const backbone = await kmeans(embedded, 10, { seed: s.seed, nInit: KMEANS_STARTS });
  rows.push({
    method: `backbone: ${description} (${s.pretrainEpochs} epochs) + k-means`,
    ...score(truth, backbone.labels),
    seconds: pretrainSeconds + elapsed(started),
    note: pretrainSeconds ? `pre-training ${pretrainSeconds.toFixed(0)} s` : "pre-trained weights from the cache; time excludes pre-training",
  });
  log(`backbone: ${fmt(rows.at(-1)!)}`);

  // 3. Community detection on the embeddings' kNN graph; and N2D's manifold step (UMAP, then k-means).
  started = performance.now();
  const communities = await leidenClusters(embedded, 10, { neighbors: LEIDEN_NEIGHBOURS, seed: s.seed });
  rows.push({
    method: `backbone + Leiden on its ${LEIDEN_NEIGHBOURS}-NN graph (10 communities)`,
    ...score(truth, communities.labels),
    seconds: elapsed(started),
    note: `resolution ${communities.resolution.toPrecision(3)} after ${communities.trials.length} Leiden runs${communities.merged ? `, ${communities.merged} merges` : ""}`,
  });
  log(`backbone + Leiden: ${fmt(rows.at(-1)!)}`);
  let initialLabels = s.init === "leiden" ? communities.labels : backbone.labels;
  if (s.init === "umap") {
    started = performance.now();
    const manifold = await umap(embedded, { components: 10, neighbors: 20, minDist: 0, seed: s.seed, onEpoch: (e, total) => e % 50 === 0 && log(`  umap epoch ${e}/${total}`) });
    initialLabels = (await kmeans(manifold, 10, { seed: s.seed, nInit: KMEANS_STARTS })).labels;
    rows.push({ method: "backbone + UMAP (10-d, 20 neighbours, min_dist 0) + k-means", ...score(truth, initialLabels), seconds: elapsed(started) });
    log(`backbone + UMAP: ${fmt(rows.at(-1)!)}`);
  }

  // 4. Backbone + DCvCD.
  if (!s.dcvcd) {
    encoder.dispose();
    process.stdout.write(json ? JSON.stringify({ backend, samples: n, settings: s, rows }, null, 2) + "\n" : render(rows, undefined, backend, n, s.backbone));
    return;
  }
  started = performance.now();
  const result = await dcvcd.run(
    { encoder, inputs, initialLabels, truth },
    {
      epochsPerRound: s.epochsPerRound,
      mergesPerMain: s.mergesPerMain,
      fineTuneSamples: s.fineTuneSamples,
      maxRounds: s.maxRounds,
      poolResolution: s.poolResolution,
      graph: { ...PAPER_GRAPH, threshold: s.graphThreshold },
      seed: s.seed,
      onRound: (r) =>
        log(`  round ${r.round}: pool ${r.poolBefore} → ${r.poolAfter}, ${r.isolatedCommunities} isolated, ${r.merges.length} merges, ` +
          `purity ${r.purity?.toFixed(4)}, ACC ${r.metrics?.acc.toFixed(4)} NMI ${r.metrics?.nmi.toFixed(4)} (${r.seconds.toFixed(0)} s)`),
    },
  );
  const from = { kmeans: "backbone + k-means", leiden: "backbone + Leiden", umap: "backbone + UMAP + k-means" }[s.init];
  rows.push({ method: `${from}, refined by DCvCD`, ...score(truth, result.labels), seconds: elapsed(started), note: `${result.summary.rounds} rounds, ended: ${result.summary.ended}` });
  log(`backbone + DCvCD: ${fmt(rows.at(-1)!)}`);
  encoder.dispose();

  const report = {
    backend,
    samples: n,
    settings: s,
    rows,
    anchors: { "k-means (pixels)": [0.47, 0.51], "AE + k-means": [0.606, 0.637], DEC: [0.618, 0.651], N2D: [0.672, 0.684] },
    dcvcd: { ...result.summary, roundRecords: result.rounds.map(({ mainOf: _, ...r }) => r) },
  };
  mkdirSync(s.cache, { recursive: true });
  writeFileSync(join(s.cache, `dcvcd-fmnist-${s.backbone}${s.init === "kmeans" ? "" : `-${s.init}`}-${s.quick ? "quick" : "full"}-s${s.seed}.json`), JSON.stringify(report, null, 2));
  process.stdout.write(json ? JSON.stringify(report, null, 2) + "\n" : render(report.rows, result.summary.deviations, backend, n, s.backbone));
}

function score(truth: Int32Array, labels: Int32Array): Scores {
  return { acc: clusteringAccuracy(truth, labels), nmi: nmi(truth, labels), ari: ari(truth, labels) };
}

function normalise(pixels: Float32Array): Float32Array {
  const { mean, std } = transforms.stats.fashionMnist;
  return pixels.map((v) => (v - mean[0]!) / std[0]!);
}

/**
 * The backbone of `--backbone`: its encoder, the variables the cache holds (the autoencoder's
 * decoder too, so pre-training can continue), the cache file's stem (every setting that shapes
 * the weights) and the encoder's inputs for all n samples (the autoencoder reconstructs pixels
 * in [0, 1]; the CNN takes them normalised, as its SimCLR views were).
 */
function makeBackbone(s: Settings, pixels: Float32Array, n: number) {
  // Pre-trains the remaining epochs after `done` cached ones.
  const remaining = (data: ImageDataset, done: number, kind: string) => {
    log(`${kind} pre-training, ${s.pretrainEpochs - done} epochs on ${data.length} images …`);
    return { epochs: s.pretrainEpochs - done, seed: s.seed + done };
  };
  const progress = (done: number, loss: string) => (e: number, value: number, sec: number) => log(`  epoch ${done + e + 1}: ${loss} ${value.toFixed(5)} (${sec.toFixed(0)} s)`);
  if (s.backbone === "ae") {
    const model = autoencoder({ hidden: s.hidden, embeddingDim: s.embeddingDim, seed: s.seed });
    return {
      encoder: model as Encoder,
      variables: [...model.trainableVariables, ...model.decoderVariables],
      stem: `ae-784x${s.hidden.join("x")}-d${s.embeddingDim}-mse`,
      description: `autoencoder 784-${s.hidden.join("-")}-${s.embeddingDim} (MSE)`,
      inputs: { data: pixels, shape: [n, 784] },
      pretrain: (data: ImageDataset, done: number) =>
        autoencoderPretrain(model, data, { ...remaining(data, done, "autoencoder (reconstruction MSE)"), onEpoch: progress(done, "MSE") }),
    };
  }
  const model = smallCnn({ channels: s.channels, embeddingDim: s.embeddingDim, seed: s.seed });
  return {
    encoder: model as Encoder,
    variables: model.trainableVariables,
    stem: `smallcnn-${s.channels.join("x")}-d${s.embeddingDim}-simclr`,
    description: `small CNN ${s.channels.join("-")}→${s.embeddingDim} + SimCLR`,
    inputs: { data: normalise(pixels), shape: [n, 28, 28, 1] },
    pretrain: (data: ImageDataset, done: number) =>
      contrastivePretrain(model, data, { ...remaining(data, done, "SimCLR"), augment: fashionViews(), onEpoch: progress(done, "NT-Xent") }),
  };
}

async function saveWeights(variables: tf.Variable[], file: string): Promise<void> {
  const tensors: Array<[string, { shape: number[]; data: Float32Array }]> = [];
  for (const [i, v] of variables.entries()) tensors.push([`v${i}`, { shape: v.shape, data: (await v.data()) as Float32Array }]);
  await writeSafetensors(file, tensors);
}

async function loadWeights(variables: tf.Variable[], file: string): Promise<void> {
  const { tensors } = await readSafetensors(file);
  variables.forEach((v, i) => {
    const raw = tensors.get(`v${i}`);
    if (!raw || raw.shape.join() !== v.shape.join()) throw new Error(`${file} does not match this encoder (variable ${i}); delete it to pre-train again`);
    v.assign(tf.tensor(toFloat32(`v${i}`, raw), v.shape));
  });
}

/** scikit-learn's KMeans(10, k-means++, n_init=10) on the same pixels, through Debian's Python. */
function sklearnKmeans(pixels: Float32Array, n: number, seed: number, dir: string): { labels: Int32Array; seconds: number } | undefined {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "pixels.f32");
  writeFileSync(file, pixels);
  const script = [
    "import sys, time, json, numpy as np",
    "from sklearn.cluster import KMeans",
    `x = np.fromfile(sys.argv[1], dtype=np.float32).reshape(${n}, 784)`,
    "t = time.perf_counter()",
    `km = KMeans(n_clusters=10, init='k-means++', n_init=${KMEANS_STARTS}, random_state=${seed}).fit(x)`,
    "print(json.dumps({'seconds': time.perf_counter() - t, 'labels': km.labels_.tolist()}))",
  ].join("\n");
  const result = spawnSync("/usr/bin/python3", ["-c", script, file], { encoding: "utf8", maxBuffer: 1 << 28 });
  if (result.status !== 0) {
    log(`scikit-learn k-means not run: ${result.error?.message ?? result.stderr.split("\n").at(-2)}`);
    return undefined;
  }
  const out = JSON.parse(result.stdout) as { seconds: number; labels: number[] };
  return { labels: Int32Array.from(out.labels), seconds: out.seconds };
}

function render(rows: ResultRow[], deviations: dcvcd.Deviation[] | undefined, backend: string, n: number, backbone: Backbone): string {
  const lines = [`Fashion-MNIST, ${n} images, backend ${backend}, backbone ${backbone === "ae" ? "autoencoder (--backbone ae)" : "small CNN + SimCLR (--backbone cnn)"}`];
  const width = Math.max(...rows.map((r) => r.method.length));
  lines.push(`${"method".padEnd(width)}     ACC     NMI     ARI   time s`);
  for (const r of rows) {
    lines.push(`${r.method.padEnd(width)}  ${r.acc.toFixed(4)}  ${r.nmi.toFixed(4)}  ${r.ari.toFixed(4)}  ${r.seconds.toFixed(0).padStart(7)}${r.note ? `  (${r.note})` : ""}`);
  }
  lines.push("published anchors (ACC/NMI): k-means 0.47/0.51, AE + k-means 0.606/0.637, DEC 0.618/0.651, N2D 0.672/0.684");
  // Infinity (e.g. fineTuneSamples: all) would print as null.
  const show = (v: unknown) => JSON.stringify(v, (_, x) => (x === Infinity ? "all" : x));
  if (deviations) lines.push(`DCvCD deviations from the paper: ${deviations.map((d) => `${d.option}=${show(d.used)} (paper ${show(d.paper)})`).join("; ")}`);
  return lines.join("\n") + "\n";
}

function elapsed(started: number): number {
  return (performance.now() - started) / 1000;
}

function fmt(r: ResultRow): string {
  return `ACC ${r.acc.toFixed(4)} NMI ${r.nmi.toFixed(4)} ARI ${r.ari.toFixed(4)} in ${r.seconds.toFixed(0)} s`;
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}
