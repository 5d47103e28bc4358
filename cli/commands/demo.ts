import { Command, InvalidArgumentError } from "commander";
import { BACKEND_NAMES, type BackendName } from "../../lib/engine/backends/types.js";
import type { tf } from "../../lib/engine/index.js";

interface DemoOptions {
  backend?: BackendName;
  images: number;
  epochs: number;
  batch: number;
}

/**
 * `cluelab demo`: trains a small conv net on real Fashion-MNIST on the selected backend and shows
 * what happened: the backend, throughput, the loss curve and per-class test accuracy.
 */
export function demoCommand(): Command {
  return new Command("demo")
    .description("train a small conv net on Fashion-MNIST on the selected backend and show what it did")
    .option("--backend <name>", `compute backend (${BACKEND_NAMES.join(", ")}); default: automatic`, parseBackend)
    .option("--images <n>", "training images to use", positiveInt, 8192)
    .option("--epochs <n>", "passes over those images", positiveInt, 2)
    .option("--batch <n>", "batch size", positiveInt, 64)
    .action(async (options: DemoOptions) => runDemo(options));
}

async function runDemo(options: DemoOptions): Promise<void> {
  const [{ fashionMnist }, { ready, tf }] = await Promise.all([import("../../lib/data/index.js"), import("../../lib/engine/index.js")]);
  const out = (line = "") => process.stdout.write(line + "\n");
  const engine = await ready({ backend: options.backend });
  out(`cluelab demo: a small conv net on Fashion-MNIST`);
  out(`backend   ${engine.backend} — ${engine.status.device ?? ""} (${engine.chosenBy})`);

  const train = await fashionMnist({ split: "train" });
  const test = await fashionMnist({ split: "test" });
  const n = Math.min(options.images, train.length);
  const nTest = Math.min(2000, test.length);
  out(`data      ${n} training and ${nTest} test images from ${train.origin}`);

  // The first n images, as the demo always used; all in memory, as tensors.
  const first = (count: number) => Array.from({ length: count }, (_, i) => i);
  const toTensors = async (ds: typeof train, count: number) => {
    const { x, y } = await ds.subset(first(count)).toTensors();
    const oneHot = tf.tidy(() => tf.oneHot(y, ds.classes.length) as tf.Tensor2D);
    y.dispose();
    return { x, y: oneHot };
  };
  const trainSet = await toTensors(train, n);
  const testSet = await toTensors(test, nTest);
  const testLabels = test.subset(first(nTest)).labels;

  // Conv, depthwise-separable conv and max pooling: exercises the gradient kernels the engine adds.
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, padding: "same", activation: "relu", kernelInitializer: tf.initializers.heNormal({ seed: 1 }) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.separableConv2d({ filters: 32, kernelSize: 3, padding: "same", activation: "relu", depthwiseInitializer: tf.initializers.heNormal({ seed: 2 }), pointwiseInitializer: tf.initializers.heNormal({ seed: 3 }) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: "softmax", kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(2e-3), loss: "categoricalCrossentropy", metrics: ["accuracy"] });
  out(`model     ${model.countParams().toLocaleString("en")} parameters: conv 3×3 → max-pool → separable conv 3×3 → max-pool → dense`);
  out("");

  const losses: number[] = [];
  const started = performance.now();
  await model.fit(trainSet.x, trainSet.y, {
    epochs: options.epochs,
    batchSize: options.batch,
    shuffle: true,
    verbose: 0,
    callbacks: {
      onBatchEnd: async (_batch, logs) => {
        if (logs?.loss !== undefined) losses.push(logs.loss);
      },
      onEpochEnd: async (epoch, logs) => {
        const seconds = (performance.now() - started) / 1000;
        const rate = ((epoch + 1) * n) / seconds;
        out(`epoch ${epoch + 1}/${options.epochs}  loss ${logs?.loss?.toFixed(4)}  train acc ${((logs?.acc ?? 0) * 100).toFixed(1)}%  ${rate.toFixed(0)} images/s`);
      },
    },
  });
  const seconds = (performance.now() - started) / 1000;
  out(`loss      ${sparkline(losses)}  (${losses.length} steps, ${losses[0]?.toFixed(2)} → ${losses.at(-1)?.toFixed(2)})`);

  const predicted = tf.tidy(() => (model.predict(testSet.x) as tf.Tensor).argMax(-1));
  const pred = await predicted.data();
  const truth = testLabels;
  const correct = new Array<number>(10).fill(0);
  const total = new Array<number>(10).fill(0);
  truth.forEach((label, i) => {
    total[label]!++;
    if (pred[i] === label) correct[label]!++;
  });
  const accuracy = correct.reduce((a, b) => a + b, 0) / nTest;
  out("");
  out(`test accuracy ${(accuracy * 100).toFixed(1)}% on ${nTest} images, after ${seconds.toFixed(1)} s of training on ${engine.backend}`);
  train.classes.forEach((name, k) => {
    const frac = correct[k]! / Math.max(1, total[k]!);
    out(`  ${name.padEnd(12)} ${bar(frac, 30)} ${(frac * 100).toFixed(0).padStart(3)}%`);
  });

  tf.dispose([predicted, trainSet.x, trainSet.y, testSet.x, testSet.y]);
  model.dispose();
}

function sparkline(values: number[], width = 48): string {
  if (values.length === 0) return "";
  const ticks = "▁▂▃▄▅▆▇█";
  const step = Math.max(1, Math.ceil(values.length / width));
  const points: number[] = [];
  for (let i = 0; i < values.length; i += step) {
    const chunk = values.slice(i, i + step);
    points.push(chunk.reduce((a, b) => a + b, 0) / chunk.length);
  }
  const lo = Math.min(...points);
  const hi = Math.max(...points);
  return points.map((v) => ticks[Math.round(((v - lo) / (hi - lo || 1)) * (ticks.length - 1))]).join("");
}

function bar(fraction: number, width: number): string {
  const filled = Math.round(fraction * width);
  return "█".repeat(filled) + "░".repeat(width - filled);
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

function parseBackend(value: string): BackendName {
  if (!(BACKEND_NAMES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected one of ${BACKEND_NAMES.join(", ")}, got "${value}"`);
  }
  return value as BackendName;
}
