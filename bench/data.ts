/**
 * `npm run bench -- data [--json]`: is loading ever the bottleneck?
 *
 * For Fashion-MNIST (Debian's real files) and for a generated Mini-ImageNet-like folder of JPEGs,
 * in the same run:
 *  - loader: images/s the batch loader delivers as tensors, with the usual augmentation, when
 *    nothing else runs (each batch is disposed at once);
 *  - step: images/s of a training step on batches already in memory (the demo's conv net; for
 *    Fashion-MNIST also CLUE_nano_FMNIST, the CLUENet configuration for 28×28 grey images);
 *  - step + loader: the same steps fed by the loader (one worker thread, two batches prefetched),
 *    and fed by a loader working on the training thread (`workers: 0`) for contrast.
 * "overlap" = (step + loader) / step: 1.00 means loading costs the training loop nothing.
 * Every figure is the median of several runs; the machine is shared, so compare within a run.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { cluenet } from "../lib/index.js";
import { fashionMnist, imageFolder, type ImageDataset } from "../lib/data/index.js";
import { recipes } from "../lib/data/transforms/index.js";
import type { Transform } from "../lib/data/transforms/spec.js";
import { ready, tf } from "../lib/engine/index.js";
import type { BenchOptions } from "./types.js";

/** Repetitions of every measurement (the median is reported). */
const REPS = 3;

interface StepModel {
  name: string;
  /** One optimiser step on (x, y); returns nothing, leaves no tensor behind. */
  step(x: tf.Tensor4D, y: tf.Tensor1D): void;
  dispose(): void;
}

interface Row {
  dataset: string;
  model: string;
  batch: number;
  input: string;
  augment: string;
  loader_img_s: number;
  step_img_s: number;
  /** loader / step: how many times faster batches are made than the step consumes them. */
  headroom: number;
  with_loader_img_s: number;
  overlap: number;
  in_process_img_s: number | null;
  in_process_overlap: number | null;
  steps_per_run: number;
}

export interface DataReport {
  machine: { cpu: string; cores: number; node: string; backend: string };
  jpeg_folder: { images: number; size: string; generate_s: number };
  rows: Row[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

/**
 * The demo's conv net as plain variables: conv 3×3 (16) + ReLU → max-pool 2 → depthwise 3×3 +
 * pointwise (32) + ReLU → max-pool 2 → dense, trained with Adam on softmax cross-entropy.
 */
function convNet(input: readonly [number, number, number], classes: number): StepModel {
  const [h, w, c] = input;
  const v = (shape: number[], fanIn: number, seed: number) => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), "float32", seed));
  const k1 = v([3, 3, c, 16], 9 * c, 1);
  const b1 = tf.variable(tf.zeros([16]));
  const dw = v([3, 3, 16, 1], 9, 2);
  const pw = v([1, 1, 16, 32], 16, 3);
  const b2 = tf.variable(tf.zeros([32]));
  const flat = (h >> 2) * (w >> 2) * 32;
  const wd = v([flat, classes], flat, 4);
  const bd = tf.variable(tf.zeros([classes]));
  const vars = [k1, b1, dw, pw, b2, wd, bd];
  const optimizer = tf.train.adam(2e-3);
  return {
    name: "demo conv net",
    step(x, y) {
      tf.tidy(() => {
        optimizer.minimize(() => {
          const c1 = tf.relu(tf.add(tf.conv2d(x, k1 as tf.Tensor4D, 1, "same"), b1)) as tf.Tensor4D;
          const p1 = tf.maxPool(c1, 2, 2, "valid");
          const c2 = tf.relu(tf.add(tf.separableConv2d(p1, dw as tf.Tensor4D, pw as tf.Tensor4D, 1, "same"), b2)) as tf.Tensor4D;
          const p2 = tf.maxPool(c2, 2, 2, "valid");
          const logits = tf.add(tf.matMul(tf.reshape(p2, [x.shape[0], flat]), wd), bd);
          return tf.losses.softmaxCrossEntropy(tf.oneHot(y, classes), logits) as tf.Scalar;
        }, false, vars);
      });
    },
    dispose() {
      tf.dispose(vars);
      optimizer.dispose();
    },
  };
}

function clueNano(): StepModel {
  const model = cluenet.create("CLUE_nano_FMNIST", { numClasses: 10, seed: 1 });
  const optimizer = tf.train.adam(1e-3);
  return {
    name: "CLUE_nano_FMNIST",
    step(x, y) {
      tf.tidy(() => {
        optimizer.minimize(() => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), model.apply(x, { training: true })) as tf.Scalar, false, model.trainableWeights);
      });
    },
    dispose() {
      tf.dispose(model.trainableWeights);
      optimizer.dispose();
    },
  };
}

/** Images/s of the loader alone over `batches` batches (after the first, which includes start-up). */
async function loaderRate(ds: ImageDataset, batchSize: number, augment: Transform, batches: number, seed: number): Promise<number> {
  let n = 0;
  let start = 0;
  let images = 0;
  for await (const b of ds.batches({ batchSize, shuffle: true, seed, augment, workers: 1 })) {
    if (n === 0) start = performance.now();
    else images += b.size;
    b.dispose();
    if (++n > batches) break;
  }
  return images / ((performance.now() - start) / 1000);
}

/** Images/s of `steps` training steps on one batch already in memory (after a warm-up step). */
async function stepRate(model: StepModel, ds: ImageDataset, batchSize: number, augment: Transform, steps: number): Promise<number> {
  let batch: { x: tf.Tensor4D; y: tf.Tensor1D; dispose(): void } | undefined;
  for await (const b of ds.batches({ batchSize, augment, workers: 0 })) {
    batch = b;
    break;
  }
  model.step(batch!.x, batch!.y);
  const start = performance.now();
  for (let i = 0; i < steps; i++) {
    model.step(batch!.x, batch!.y);
    // Yield between steps as a loop fed by the loader does: under a loaded OS scheduler a process
    // that never sleeps is treated differently from one that briefly waits, which skews the ratio.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const rate = (steps * batchSize) / ((performance.now() - start) / 1000);
  batch!.dispose();
  return rate;
}

/** Images/s of `steps` training steps fed by the loader (after the first batch). */
async function fedRate(model: StepModel, ds: ImageDataset, batchSize: number, augment: Transform, steps: number, workers: number, seed: number): Promise<number> {
  let n = 0;
  let start = 0;
  let images = 0;
  for await (const b of ds.batches({ batchSize, shuffle: true, seed, augment, workers, prefetch: 2 })) {
    model.step(b.x, b.y);
    if (n === 0) start = performance.now();
    else images += b.size;
    b.dispose();
    if (++n > steps) break;
  }
  return images / ((performance.now() - start) / 1000);
}

async function measureRow(
  dataset: string,
  ds: ImageDataset,
  model: StepModel,
  plan: { batch: number; augment: Transform; augmentName: string; loaderBatches: number; steps: number; inProcess: boolean },
): Promise<Row> {
  const { batch, augment, steps } = plan;
  const loader: number[] = [];
  const step: number[] = [];
  const fed: number[] = [];
  const inProcess: number[] = [];
  for (let r = 0; r < REPS; r++) {
    loader.push(await loaderRate(ds, batch, augment, plan.loaderBatches, r));
    step.push(await stepRate(model, ds, batch, augment, steps));
    fed.push(await fedRate(model, ds, batch, augment, steps, 1, r));
    if (plan.inProcess) inProcess.push(await fedRate(model, ds, batch, augment, steps, 0, r));
    progress(
      `  ${dataset} / ${model.name}, run ${r + 1}/${REPS}: loader ${loader.at(-1)!.toFixed(0)} img/s, step ${step.at(-1)!.toFixed(1)} img/s, ` +
        `step + loader ${fed.at(-1)!.toFixed(1)} img/s${plan.inProcess ? `, step + in-process loader ${inProcess.at(-1)!.toFixed(1)} img/s` : ""}`,
    );
  }
  const s = median(step);
  const shape = augment.outputShape(ds.shape);
  return {
    dataset,
    model: model.name,
    batch,
    input: shape.join("×"),
    augment: plan.augmentName,
    loader_img_s: median(loader),
    step_img_s: s,
    headroom: median(loader) / s,
    with_loader_img_s: median(fed),
    overlap: median(fed) / s,
    in_process_img_s: plan.inProcess ? median(inProcess) : null,
    in_process_overlap: plan.inProcess ? median(inProcess) / s : null,
    steps_per_run: steps,
  };
}

/** A folder of Mini-ImageNet-like JPEGs: `perClass` images of 160×120 in each of `classes` class folders. */
async function jpegFolder(root: string, classes: number, perClass: number): Promise<void> {
  const [h, w] = [120, 160];
  for (let c = 0; c < classes; c++) {
    const dir = join(root, `n${String(c).padStart(8, "0")}`);
    await mkdir(dir, { recursive: true });
    await Promise.all(
      Array.from({ length: perClass }, async (_, k) => {
        // Smooth colour fields with texture: closer to photographs than noise (which JPEG cannot compress).
        const raw = Buffer.alloc(h * w * 3);
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const o = (y * w + x) * 3;
            raw[o] = (x * (c + 1) + k * 7) & 255;
            raw[o + 1] = (y * 2 + ((x * y) >> 5) + k) & 255;
            raw[o + 2] = (128 + 100 * Math.sin((x + y + k) / 9)) & 255;
          }
        }
        await writeFile(join(dir, `${k}.jpg`), await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 85 }).toBuffer());
      }),
    );
  }
}

export async function run({ json }: BenchOptions): Promise<void> {
  const engine = await ready();
  const rows: Row[] = [];

  progress("Fashion-MNIST (Debian's files) …");
  const fm = await fashionMnist({ split: "train" });
  const fmAugment = recipes.fashionMnistTrain();
  const conv28 = convNet([28, 28, 1], 10);
  rows.push(await measureRow("Fashion-MNIST", fm, conv28, { batch: 128, augment: fmAugment, augmentName: "crop(pad 2) + flip + normalize", loaderBatches: 60, steps: 20, inProcess: true }));
  conv28.dispose();
  const nano = clueNano();
  // CLUE_nano_FMNIST takes seconds per step on the CPU backends: a small batch and few steps.
  rows.push(await measureRow("Fashion-MNIST", fm, nano, { batch: 16, augment: fmAugment, augmentName: "crop(pad 2) + flip + normalize", loaderBatches: 60, steps: 3, inProcess: false }));
  nano.dispose();

  const perClass = 40;
  const classes = 50;
  const tmp = await mkdtemp(join(tmpdir(), "cluelab-bench-jpeg-"));
  try {
    progress(`generating ${classes * perClass} JPEGs of 160×120 …`);
    const t0 = performance.now();
    await jpegFolder(tmp, classes, perClass);
    const generateS = (performance.now() - t0) / 1000;
    // Decoded (and resized) to 72×72 by sharp; random resized crop to the model's 64×64 input.
    const jpegs = await imageFolder({ root: tmp, size: 72 });
    const augment = recipes.miniImagenetTrain(64);
    const conv64 = convNet([64, 64, 3], classes);
    rows.push(
      await measureRow("JPEG folder (Mini-ImageNet-like)", jpegs, conv64, {
        batch: 64,
        augment,
        augmentName: "random resized crop + flip + colour jitter + erasing + normalize",
        loaderBatches: 20,
        steps: 10,
        inProcess: true,
      }),
    );
    conv64.dispose();
    const report: DataReport = {
      machine: { cpu: cpus()[0]?.model ?? "unknown", cores: availableParallelism(), node: process.version, backend: `${engine.backend} (${engine.status.device ?? ""})` },
      jpeg_folder: { images: classes * perClass, size: "160×120 JPEG, decoded to 72×72", generate_s: generateS },
      rows,
    };
    process.stdout.write(json ? JSON.stringify(report, null, 2) + "\n" : renderText(report));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function renderText(report: DataReport): string {
  const header = ["dataset", "model", "batch", "input", "loader img/s", "step img/s", "headroom", "step+loader img/s", "overlap", "in-process img/s", "in-process overlap"];
  const f = (v: number | null, d: number) => (v === null ? "—" : v.toFixed(d));
  const body = report.rows.map((r) => [
    r.dataset,
    r.model,
    String(r.batch),
    r.input,
    f(r.loader_img_s, 0),
    f(r.step_img_s, 1),
    `${f(r.headroom, 1)}×`,
    f(r.with_loader_img_s, 1),
    f(r.overlap, 2),
    f(r.in_process_img_s, 1),
    f(r.in_process_overlap, 2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const { machine, jpeg_folder } = report;
  return [
    `data benchmark — ${machine.cpu}, ${machine.cores} cores; node ${machine.node}; backend ${machine.backend}`,
    `JPEG folder: ${jpeg_folder.images} images, ${jpeg_folder.size} (generated in ${jpeg_folder.generate_s.toFixed(1)} s)`,
    "",
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...body.map(line),
    "",
    ...report.rows.map((r) => `${r.dataset} / ${r.model}: augmentation ${r.augment}; ${r.steps_per_run} steps per run`),
    `medians of ${REPS} runs. loader: the batch loader alone (1 worker thread); step: training on a batch already in memory;`,
    "headroom = loader / step: how many times faster batches are made than consumed (the worker is busy 1/headroom of the time);",
    "step+loader: training fed by the loader (1 worker, 2 batches prefetched); overlap = step+loader / step (1.00: loading is free);",
    "in-process: the loader on the training thread (workers: 0), for contrast.",
  ].join("\n") + "\n";
}
