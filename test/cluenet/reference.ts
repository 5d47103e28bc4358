/**
 * Drives the PyTorch transcription of the official code (bench/torch/cluenet_ref.py) with
 * Debian's python3-torch: it writes fixtures (weights, inputs, logits, assignments, gradients) as
 * safetensors at test time, and runs state_dicts cluelab wrote.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { tf } from "../../lib/engine/index.js";
import { readSafetensors, toFloat32, toInt32, type Safetensors } from "../../lib/nn/index.js";
import { ROOT } from "../helpers/run.js";

/** Debian's interpreter (the one on PATH may lack torch). */
export const PYTHON = process.env.CLUELAB_PYTHON ?? "/usr/bin/python3";
export const REFERENCE = resolve(ROOT, "bench/torch/cluenet_ref.py");

export interface FixtureSpec {
  name: string;
  numClasses: number;
  batch?: number;
  seed?: number;
  overrides?: Record<string, unknown>;
  grads?: boolean;
  /**
   * Redraw inputs until every argmax decision's margin is at least this (default 1e-7): below it,
   * the summation order of a backend's matMul alone can flip the winner.
   */
  minGap?: number;
  /** Also write checkpoint.pth, a torch.save'd training checkpoint of the weights. */
  pth?: boolean;
}

/** Runs the reference script with a JSON list on stdin; returns its JSON answer. */
export function runReference<T>(command: "fixtures" | "check", specs: unknown[]): Promise<T[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(PYTHON, [REFERENCE, command], {
      env: { ...process.env, CLUELAB_TORCH_THREADS: "2", OPENBLAS_NUM_THREADS: "1" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", (error) =>
      reject(new Error(`cannot run ${PYTHON} (install python3-torch: scripts/setup-system.sh): ${error.message}`)),
    );
    child.on("close", (code) => {
      if (code !== 0) {
        const hint = /No module named 'torch'/.test(stderr) ? " (install python3-torch: scripts/setup-system.sh)" : "";
        reject(new Error(`cluenet_ref.py ${command} exited with ${code}${hint}:\n${stderr}`));
        return;
      }
      resolvePromise(JSON.parse(stdout) as T[]);
    });
    child.stdin.end(JSON.stringify(specs));
  });
}

/** A fixture written by the reference: its files, parsed. */
export interface Fixture {
  dir: string;
  weights: string;
  io: Safetensors;
  grads: Safetensors | null;
  params: number;
  attempts: number;
}

/** Writes fixtures for all specs with one Python process (torch loads once). */
export async function makeFixtures(specs: FixtureSpec[]): Promise<{ root: string; fixtures: Fixture[] }> {
  const root = await mkdtemp(join(tmpdir(), "cluelab-cluenet-"));
  const withDirs = specs.map((s, i) => ({ ...s, out: join(root, `${i}-${s.name}`) }));
  const answers = await runReference<{ params: number; attempts: number }>("fixtures", withDirs);
  const fixtures = await Promise.all(
    withDirs.map(async (s, i): Promise<Fixture> => ({
      dir: s.out,
      weights: join(s.out, "weights.safetensors"),
      io: await readSafetensors(join(s.out, "io.safetensors")),
      grads: s.grads ? await readSafetensors(join(s.out, "grads.safetensors")) : null,
      params: answers[i]!.params,
      attempts: answers[i]!.attempts,
    })),
  );
  return { root, fixtures };
}

export async function removeFixtures(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
}

/** A float tensor of a fixture as a tf tensor. */
export function floatTensor(file: Safetensors, name: string): tf.Tensor {
  const t = file.tensors.get(name);
  if (!t) throw new Error(`fixture has no tensor "${name}"`);
  return tf.tensor(toFloat32(name, t), t.shape, "float32");
}

export function floats(file: Safetensors, name: string): Float32Array {
  const t = file.tensors.get(name);
  if (!t) throw new Error(`fixture has no tensor "${name}"`);
  return toFloat32(name, t);
}

export function ints(file: Safetensors, name: string): Int32Array {
  const t = file.tensors.get(name);
  if (!t) throw new Error(`fixture has no tensor "${name}"`);
  return toInt32(name, t);
}

/** max |a − b|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

/** Number of positions where two integer arrays differ. */
export function countDifferences(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}
