/**
 * Loads the backends the tests compare: cpu (the reference), wasm and WebGPU on whatever adapter
 * is here (the software one on machines without a GPU). Loading goes through the engine's own
 * loaders, so the tests exercise the code users run.
 */
import { LOADERS } from "../../lib/engine/select.js";
import { tf, type BackendName, type BackendStatus } from "../../lib/engine/index.js";

export async function loadBackend(name: BackendName): Promise<BackendStatus> {
  const status = await LOADERS[name].load({ forced: true });
  if (!status.loaded) throw new Error(`backend ${name} did not load: ${status.reason}`);
  return status;
}

/** Runs `fn` with `name` active and reads every resulting tensor back, leaving no tensor behind. */
export async function computeOn(
  name: BackendName,
  fn: () => tf.Tensor[],
): Promise<{ values: Float32Array[]; leaked: number }> {
  await tf.setBackend(name);
  const before = tf.memory().numTensors;
  const outputs = fn();
  const values = await Promise.all(outputs.map(async (t) => new Float32Array(await t.data())));
  tf.dispose(outputs);
  return { values, leaked: tf.memory().numTensors - before };
}

/** Deterministic values in [lo, hi) (a small LCG): identical on every backend and every run. */
export function seeded(size: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(size);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}

/** Largest |a−b| / (atol + rtol·|b|) over the arrays: ≤ 1 means they agree. */
export function mismatch(a: Float32Array, b: Float32Array, atol: number, rtol: number): { worst: number; at: number } {
  if (a.length !== b.length) return { worst: Infinity, at: -1 };
  let worst = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const bad = Number.isNaN(a[i]!) !== Number.isNaN(b[i]!);
    const r = bad ? Infinity : Number.isNaN(a[i]!) ? 0 : Math.abs(a[i]! - b[i]!) / (atol + rtol * Math.abs(b[i]!));
    if (r > worst) {
      worst = r;
      at = i;
    }
  }
  return { worst, at };
}
