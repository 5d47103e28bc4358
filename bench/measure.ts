/** Small helpers the kernel benchmarks share: a numeric option, medians, alternating timings, the native addon, inputs. */
import { loadAddon, type NativeAddon } from "../lib/engine/native/addon.js";

/** `--name N` from the arguments as a positive integer, or `fallback` when absent. */
export function positiveIntOption(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} needs a positive integer, got ${args[i + 1] ?? "nothing"}`);
  return value;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/**
 * Calls each of `fns` in turn, `reps` rounds after two warm-up rounds, and returns each one's
 * times in ms: alternating in one run, so the machine's load weighs on all alike.
 */
export function alternatingTimes(reps: number, fns: Array<() => void>): number[][] {
  const times = fns.map(() => [] as number[]);
  for (let r = 0; r < reps + 2; r++) {
    fns.forEach((fn, i) => {
      const t0 = performance.now();
      fn();
      if (r >= 2) times[i]!.push(performance.now() - t0);
    });
  }
  return times;
}

/** {@link alternatingTimes}, each one's median. */
export function alternatingMedians(reps: number, fns: Array<() => void>): number[] {
  return alternatingTimes(reps, fns).map(median);
}

/** The native addon for a kernel benchmark, with `--threads N` applied when given; an error says why when it does not load. */
export function benchAddon(args: string[]): NativeAddon {
  const load = loadAddon();
  if (!("addon" in load)) throw new Error(`the native addon is needed: ${load.reason}`);
  if (args.includes("--threads")) load.addon.setThreads(positiveIntOption(args, "--threads", 2));
  return load.addon;
}

/** n deterministic values in [−scale, scale) (an LCG from `seed`). */
export function seededValues(n: number, seed: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 31 - 1) * scale;
  }
  return a;
}
