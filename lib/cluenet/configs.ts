/**
 * The registry of named configurations: the official CLUENet models (52KunKun/CLUENet,
 * models/CLUENet.py), a small one for CPU work, and Context Clusters' CIFAR model as a baseline.
 */
import type { CluenetConfig } from "./config.js";

const CLUENET_224: CluenetConfig = {
  name: "",
  family: "cluenet",
  inChannels: 3,
  numClasses: 100,
  inputSize: [224, 224],
  padTo: null,
  stem: { kernel: 4, stride: 4, pad: 0 },
  depths: [2, 2, 2, 2],
  dims: [32, 64, 160, 256],
  heads: [1, 2, 5, 8],
  headDims: [32, 32, 32, 32],
  mlpRatios: [8, 8, 4, 4],
  clusters: [[7, 7], [7, 7], [7, 7], [7, 7]],
  folds: [1, 1, 1, 1],
  dropPathRate: 0.1,
  minAlpha: 1e-4,
  mixer: "cluenet",
  aggregation: "global-soft",
  gate: true,
  shareAssignment: true,
  learnableTemperature: true,
  temperature: 2.13,
  pool: "icp",
  poolNorm2: false,
  layerScale: null,
};

const grid4: CluenetConfig["clusters"] = [[4, 4], [4, 4], [4, 4], [4, 4]];

/** One registry entry: the configuration and what the official README reports for it. */
export interface RegistryEntry {
  config: CluenetConfig;
  /** One line for listings. */
  summary: string;
  /** Parameter count as published (with `numClasses` classes), for documentation and tests. */
  published?: { params: string; numClasses: number };
}

const entry = (name: string, summary: string, config: Partial<CluenetConfig>, published?: RegistryEntry["published"]): [string, RegistryEntry] => [
  name,
  { config: { ...CLUENET_224, ...config, name }, summary, ...(published ? { published } : {}) },
];

export const REGISTRY: ReadonlyMap<string, RegistryEntry> = new Map([
  entry(
    "CLUE_nano_FMNIST",
    "CPU-sized CLUENet for 28×28 grey images (zero-padded to 32×32): depths 1,2,1,1, dims 16–128, 4×4 clusters",
    {
      inChannels: 1,
      numClasses: 10,
      inputSize: [28, 28],
      padTo: [32, 32],
      stem: { kernel: 3, stride: 1, pad: 1 },
      depths: [1, 2, 1, 1],
      dims: [16, 32, 64, 128],
      heads: [1, 2, 4, 8],
      headDims: [16, 16, 16, 16],
      mlpRatios: [4, 4, 4, 4],
      clusters: grid4,
      poolNorm2: true,
    },
    { params: "413,224", numClasses: 10 },
  ),
  entry(
    "CLUE_mini_CIFAR",
    "the paper's CIFAR-100 model (32×32, stem 3×3 stride 1, 4×4 clusters)",
    { numClasses: 100, inputSize: [32, 32], stem: { kernel: 3, stride: 1, pad: 1 }, clusters: grid4, poolNorm2: true },
    { params: "3,016,788", numClasses: 100 },
  ),
  entry("CLUE_mini", "CLUENet micro for 224×224 (Mini-ImageNet), 7×7 clusters", { poolNorm2: true }, { params: "3.02 M", numClasses: 100 }),
  entry(
    "CLUE_tiny",
    "CLUENet tiny for 224×224: depths 3,4,5,2, dims 32–320, heads 4,4,8,8 × 24",
    { depths: [3, 4, 5, 2], dims: [32, 64, 196, 320], heads: [4, 4, 8, 8], headDims: [24, 24, 24, 24] },
    { params: "5.68 M", numClasses: 100 },
  ),
  entry(
    "CLUE_small",
    "CLUENet small for 224×224: depths 2,2,6,2, dims 64–512, heads 4,4,8,8 × 32",
    { depths: [2, 2, 6, 2], dims: [64, 128, 320, 512], heads: [4, 4, 8, 8], dropPathRate: 0.3 },
    { params: "15.05 M", numClasses: 100 },
  ),
  entry(
    "CLUE_base",
    "CLUENet base for 224×224: depths 4,4,12,4, dims 64–512, heads 6,6,12,12 × 32",
    { depths: [4, 4, 12, 4], dims: [64, 128, 320, 512], heads: [6, 6, 12, 12], dropPathRate: 0.3 },
    { params: "30.20 M", numClasses: 100 },
  ),
  entry(
    "CoC_mini_CIFAR",
    "baseline: Context Clusters' CIFAR model (2×2 proposals in 8,4,2,1 folds, GroupNorm, layer scale, strided-conv downsampling)",
    {
      family: "coc",
      numClasses: 100,
      inputSize: [32, 32],
      stem: { kernel: 3, stride: 1, pad: 1 },
      clusters: [[16, 16], [8, 8], [4, 4], [2, 2]],
      folds: [8, 4, 2, 1],
      mixer: "coc",
      pool: "conv",
      layerScale: 1e-5,
    },
    { params: "2.72 M", numClasses: 100 },
  ),
]);
