/**
 * `npm run bench -- kernel [--json] [--sessions N]`: the kernel against tslab, side by side in
 * the same run, over real ZeroMQ sockets:
 *
 * - start: from spawning the kernel process to its first `kernel_info_reply`;
 * - trivial typed cells (`const vN: number = N; vN * 2`): the round trip from sending
 *   `execute_request` to having both the reply and the request's `idle`, median over cells
 *   2–61 and over cells 62–121 of a session (cell 1 pays for warming the type checker).
 *
 * Each kernel runs several sessions, alternating; the report gives medians over sessions and
 * the ratios cluelab / tslab (below 1 means cluelab is faster).
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { kernelArgv, TestKernel } from "../test/kernel/helpers/client.js";
import type { BenchOptions } from "./types.js";

interface Session {
  startMs: number;
  firstCellMs: number;
  early: number;
  late: number;
}

interface Peer {
  name: string;
  argv: (connectionFile: string) => string[];
}

const CELLS = 121;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function session(peer: Peer): Promise<Session> {
  let startMs = 0;
  const kernel = await TestKernel.start({ argv: peer.argv, onReady: (ms) => (startMs = ms) });
  try {
    const times: number[] = [];
    for (let i = 1; i <= CELLS; i++) {
      const started = performance.now();
      const { reply } = await kernel.execute(`const v${i}: number = ${i};\nv${i} * 2`);
      times.push(performance.now() - started);
      if (reply.content.status !== "ok") throw new Error(`${peer.name}: cell ${i} failed: ${JSON.stringify(reply.content)}`);
    }
    return { startMs, firstCellMs: times[0]!, early: median(times.slice(1, 61)), late: median(times.slice(61, 121)) };
  } finally {
    await kernel.shutdown();
  }
}

export async function run(options: BenchOptions): Promise<void> {
  const sessionsArg = options.args.indexOf("--sessions");
  const sessions = sessionsArg >= 0 ? Math.max(1, Number(options.args[sessionsArg + 1])) : 3;
  const tslabBin = join(dirname(createRequire(import.meta.url).resolve("tslab/package.json")), "bin", "tslab");
  const peers: Peer[] = [
    // What the kernelspec runs: `node dist/cli/main.js kernel --connection-file FILE`.
    { name: "cluelab", argv: kernelArgv },
    { name: "tslab", argv: (file) => [process.execPath, tslabBin, "kernel", "--config-path", file] },
  ];
  const results = new Map<string, Session[]>(peers.map((p) => [p.name, []]));
  for (let s = 0; s < sessions; s++) {
    // Alternate the order so neither kernel always runs on a warmer machine.
    for (const peer of s % 2 === 0 ? peers : [...peers].reverse()) {
      process.stderr.write(`bench kernel: ${peer.name} session ${s + 1}/${sessions}\n`);
      results.get(peer.name)!.push(await session(peer));
    }
  }
  const summary = Object.fromEntries(
    [...results].map(([name, runs]) => [
      name,
      {
        startMs: median(runs.map((r) => r.startMs)),
        firstCellMs: median(runs.map((r) => r.firstCellMs)),
        cells2to61Ms: median(runs.map((r) => r.early)),
        cells62to121Ms: median(runs.map((r) => r.late)),
        sessions: runs,
      },
    ]),
  ) as Record<string, { startMs: number; firstCellMs: number; cells2to61Ms: number; cells62to121Ms: number; sessions: Session[] }>;
  const ours = summary.cluelab!;
  const theirs = summary.tslab!;
  const ratios = {
    start: ours.startMs / theirs.startMs,
    cells2to61: ours.cells2to61Ms / theirs.cells2to61Ms,
    cells62to121: ours.cells62to121Ms / theirs.cells62to121Ms,
  };
  const goals = {
    "kernel_info reply ≤ 1000 ms after start": ours.startMs <= 1000,
    "cells 2–61 median ≤ 15 ms": ours.cells2to61Ms <= 15,
    "cells 62–121 ≤ 2× cells 2–61": ours.cells62to121Ms <= 2 * ours.cells2to61Ms,
  };
  if (options.json) {
    process.stdout.write(JSON.stringify({ benchmark: "kernel", sessions, cells: CELLS, results: summary, ratios, goals }, null, 2) + "\n");
    return;
  }
  const row = (label: string, a: number, b: number, ratio: number) =>
    `${label.padEnd(34)}${a.toFixed(1).padStart(10)}${b.toFixed(1).padStart(10)}${ratio.toFixed(2).padStart(10)}\n`;
  process.stdout.write(`kernel benchmark: medians over ${sessions} sessions each (ms)\n\n`);
  process.stdout.write(`${"".padEnd(34)}${"cluelab".padStart(10)}${"tslab".padStart(10)}${"ratio".padStart(10)}\n`);
  process.stdout.write(row("start → kernel_info reply", ours.startMs, theirs.startMs, ratios.start));
  process.stdout.write(row("first cell (checker warm-up)", ours.firstCellMs, theirs.firstCellMs, ours.firstCellMs / theirs.firstCellMs));
  process.stdout.write(row("trivial typed cell, cells 2–61", ours.cells2to61Ms, theirs.cells2to61Ms, ratios.cells2to61));
  process.stdout.write(row("trivial typed cell, cells 62–121", ours.cells62to121Ms, theirs.cells62to121Ms, ratios.cells62to121));
  process.stdout.write("\n");
  for (const [goal, met] of Object.entries(goals)) process.stdout.write(`${met ? "met    " : "missed "} ${goal}\n`);
}
