/**
 * Runs a reference computation in Debian's Python (scikit-learn, scipy, igraph, leidenalg live
 * there, not in whatever `python3` is first on PATH): the input goes as JSON through a temporary
 * file, the script prints one JSON value.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const DEBIAN_PYTHON = "/usr/bin/python3";

/** `script` reads `sys.argv[1]` (a JSON file holding `input`) and prints JSON on stdout. */
export function runPython<T>(script: string, input: unknown, timeoutMs = 120_000): T {
  const dir = mkdtempSync(join(tmpdir(), "cluelab-py-"));
  try {
    const file = join(dir, "input.json");
    writeFileSync(file, JSON.stringify(input));
    const result = spawnSync(DEBIAN_PYTHON, ["-c", script, file], {
      encoding: "utf8",
      timeout: timeoutMs,
      maxBuffer: 256 * 1024 * 1024,
    });
    if (result.error) throw result.error;
    if (result.status !== 0) throw new Error(`python reference failed (${result.status}):\n${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A small seeded generator for test data (mulberry32). */
export function testRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
