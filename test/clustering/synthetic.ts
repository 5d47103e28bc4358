/** Synthetic data sets for the clustering tests. */
import { testRng } from "./python.js";

/** k Gaussian blobs in d dimensions, centers ~N(0, 10²), sample i in blob i % k. */
export function blobs(n: number, d: number, k: number, seed: number): { data: Float32Array; truth: Int32Array } {
  const rand = testRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const centers = Array.from({ length: k }, () => Array.from({ length: d }, () => 10 * gauss()));
  const data = new Float32Array(n * d);
  const truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    truth[i] = i % k;
    for (let j = 0; j < d; j++) data[i * d + j] = centers[i % k]![j]! + 2 * gauss();
  }
  return { data, truth };
}
