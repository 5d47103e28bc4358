#!/usr/bin/env node
/**
 * `npm run bench -- <name> [--json]`: runs one named benchmark. The registry below is the only
 * place a benchmark is wired in, so adding one (kernel, train, community, data, …) is one line.
 *
 * Output contract, shared by every benchmark: the report goes to stdout (a table, or with
 * `--json` exactly one JSON object and nothing else); progress and library chatter go to stderr.
 */
import { run as cluenet } from "./cluenet.js";
import { run as data } from "./data.js";
import { run as community } from "./community.js";
import { run as dcvcdFmnist } from "./dcvcd-fmnist.js";
import { run as depthwise } from "./depthwise.js";
import { run as dwgelu } from "./dwgelu.js";
import { run as engine } from "./engine.js";
import { run as gemm } from "./gemm.js";
import { run as kernel } from "./kernel.js";
import { run as nearest } from "./nearest.js";
import { run as reducePool } from "./reduce-pool.js";
import { run as softaggregate } from "./softaggregate.js";
import { run as train } from "./train.js";
import type { BenchRun } from "./types.js";

/** Benchmark name → its module's run function, with a one-line description for the listing. */
const BENCHMARKS: Record<string, { run: BenchRun; about: string }> = {
  data: { run: data, about: "images/s the batch loader delivers (Fashion-MNIST, a JPEG folder) beside the training step's own speed, and their overlap" },
  engine: { run: engine, about: "matMul, conv-net and cluster-attention training steps on every backend that loads, against the CPU's peak" },
  train: { run: train, about: "CLUENet training (batch 64, AdamW) and inference (batch 256) images/s on the selected backend beside PyTorch on the CPU, with ratios" },
  cluenet: { run: cluenet, about: "CLUENet training/inference images/s on the selected backend beside the official model's PyTorch transcription" },
  depthwise: { run: depthwise, about: "the native addon's hand-written depthwise kernels against oneDNN's, each mode on CLUE_nano's shapes (batch 64), in the same run" },
  gemm: { run: gemm, about: "the native matmul on CLUE_nano's linear-layer shapes: as routed against always oneDNN and always hand-written, or against another build (--other)" },
  "reduce-pool": { run: reducePool, about: "the native column sums (bias gradients) against the row-tiled sum, and the tiling average pools against oneDNN's, on CLUE_nano's shapes, in the same run (--cold: cache-cold buffers)" },
  dwgelu: { run: dwgelu, about: "depthwiseConv2dBiasGelu's native one-sweep backward kernel against the composition's kernels, on CLUE_nano's MLP shapes (batch 64)" },
  nearest: { run: nearest, about: "the native nearestCenter's lane kernel against its GEMM + argmax path on CLUE_nano's cluster-pooling shapes, in the same run" },
  softaggregate: { run: softaggregate, about: "the native softAggregate's register-blocked kernels (16 centers) against its general kernel, forward and backward, on CLUE_nano's and CLUE_mini_CIFAR's shapes, in the same run" },
  kernel: { run: kernel, about: "Jupyter kernel start-up and typed-cell round trips, against tslab in the same run" },
  "dcvcd-fmnist": { run: dcvcdFmnist, about: "Fashion-MNIST (70k): k-means on pixels, a backbone (--backbone ae: DEC/N2D autoencoder, cnn: SimCLR small CNN) + k-means, backbone + DCvCD (ACC/NMI/ARI, wall times)" },
  community: { run: community, about: "Leiden on Fashion-MNIST's 70k kNN graph and a planted graph, against leidenalg, graphology's Louvain and the npm Leiden packages" },
};

function usage(): string {
  const width = Math.max(...Object.keys(BENCHMARKS).map((name) => name.length));
  const list = Object.entries(BENCHMARKS)
    .map(([name, { about }]) => `  ${name.padEnd(width)}  ${about}`)
    .join("\n");
  return `usage: npm run bench -- <name> [--json]\n\nbenchmarks:\n${list}\n`;
}

const argv = process.argv.slice(2);
const json = argv.includes("--json");
const [name, ...args] = argv.filter((arg) => arg !== "--json");
const bench = name === undefined ? undefined : Object.hasOwn(BENCHMARKS, name) ? BENCHMARKS[name] : undefined;

if (!bench) {
  const what = name === undefined ? "missing benchmark name" : `unknown benchmark "${name}"`;
  process.stderr.write(`bench: ${what}\n\n${usage()}`);
  process.exitCode = 1;
} else {
  if (json) {
    // Libraries log with console.log/info (TensorFlow.js' banners, for one); with --json, stdout
    // must hold only the report, which benchmarks write with process.stdout.write.
    console.log = console.error;
    console.info = console.error;
  }
  try {
    await bench.run({ json, args });
  } catch (error) {
    process.stderr.write(`bench ${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
