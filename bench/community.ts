/**
 * `npm run bench -- community [--json] [--runs N (default 5)] [--quick]`: our Leiden against leidenalg's
 * default call (the reference implementation, C++ through Debian's python3-leidenalg) and the
 * JavaScript community-detection packages a user would otherwise pick, on the same graphs in one
 * run:
 *
 *  - Fashion-MNIST, all 70,000 images: PCA-50 (numpy, the fixture), then the kNN graph (k = 15,
 *    cosine, union-symmetrised) built by `graph.knnGraph` — the graph the issue names;
 *  - a planted-partition graph (20,000 nodes, 200 groups, random weights), generated here.
 *
 * For each implementation: median modularity and time over seeds 0..N-1, the number of
 * communities, and how many communities are internally disconnected (checked here by BFS, the
 * same check for everyone). Ratios are against leidenalg's medians; the bar is modularity ≥
 * leidenalg's − 0.001 at time ≤ 1.5× leidenalg's. JavaScript implementations get one untimed warm-up
 * run on the same graph first. `--quick` uses a 10,000-image subset.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { leiden, louvain, modularity } from "../lib/clustering/community/index.js";
import { knnGraph, type EdgeList, type GraphInfo } from "../lib/clustering/graph/index.js";
import { Random } from "../lib/clustering/random.js";
import type { BenchOptions } from "./types.js";

const PYTHON = "/usr/bin/python3";
const BAR_MODULARITY = 0.001;
const BAR_TIME = 1.5;

/** One implementation on one graph. */
export interface CommunityRow {
  graph: string;
  implementation: string;
  algorithm: "leiden" | "louvain";
  runs: number;
  modularity: number;
  modularity_range: [number, number];
  seconds: number;
  /** Converting the edge list into the library's own graph object, once (not in `seconds`). */
  setup_seconds: number;
  communities: number;
  /** Largest number of internally disconnected communities in any run. */
  disconnected: number;
  modularity_vs_leidenalg: number | null;
  time_vs_leidenalg: number | null;
  meets_bar: boolean | null;
  note?: string;
}

export interface CommunityReport {
  graphs: Array<{ name: string; nodes: number; edges: number; how: string; build?: GraphInfo }>;
  rows: CommunityRow[];
  bar: string;
}

export async function run({ json, args }: BenchOptions): Promise<void> {
  const runsArg = args.indexOf("--runs");
  const runs = runsArg >= 0 ? Number(args[runsArg + 1]) : 5;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${args[runsArg + 1]}`);
  const quick = args.includes("--quick");
  const seeds = Array.from({ length: runs }, (_, i) => i);
  const work = mkdtempSync(join(tmpdir(), "cluelab-bench-community-"));
  const report: CommunityReport = {
    graphs: [],
    rows: [],
    bar: `modularity ≥ leidenalg's − ${BAR_MODULARITY} and time ≤ ${BAR_TIME}× leidenalg's (medians over ${runs} seeds)`,
  };
  try {
    const fixtures: Array<{ name: string; graph: EdgeList; how: string; build?: GraphInfo }> = [];
    const images = quick ? 10_000 : 70_000;
    log(`Fashion-MNIST PCA-50 (numpy) …`);
    const pca = fashionMnistPca(work);
    log(`kNN graph (k = 15) of ${images} images with graph.knnGraph …`);
    const knn = await knnGraph({ data: pca.data.subarray(0, images * 50), rows: images, cols: 50 }, { k: 15 });
    fixtures.push({ name: `fmnist-${images / 1000}k-knn15`, graph: knn, how: "Fashion-MNIST PCA-50, cosine kNN k=15 (graph.knnGraph)", build: knn.info });
    fixtures.push({ name: "planted-20k", graph: plantedGraph(20_000, 200, 15, 5, 1), how: "planted partition: 200 groups, ~15 edges in / 5 out per node, weights U(0.2, 1)" });

    for (const fixture of fixtures) {
      const { name, graph } = fixture;
      report.graphs.push({ name, nodes: graph.n, edges: graph.src.length, how: fixture.how, ...(fixture.build ? { build: fixture.build } : {}) });
      log(`${name}: ${graph.n} nodes, ${graph.src.length} edges`);
      const rows: CommunityRow[] = [];
      rows.push(leidenalgRow(name, graph, seeds, work));
      rows.push(measure(name, "cluelab community.leiden", "leiden", graph, seeds, 0, (seed) => leiden(graph, { seed }).membership));
      rows.push(measure(name, "cluelab community.louvain", "louvain", graph, seeds, 0, (seed) => louvain(graph, { seed }).membership));
      rows.push(...(await javascriptPeers(name, graph, seeds)));
      const reference = rows[0]!;
      for (const row of rows) compare(row, reference);
      report.rows.push(...rows);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(json ? JSON.stringify(report, null, 2) + "\n" : render(report));
}

// ---------------------------------------------------------------------------------------------
// Fixtures

function peerScript(): string {
  const candidates = ["../../bench/community_peer.py", "./community_peer.py"].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const script = candidates.find((p) => existsSync(p));
  if (!script) throw new Error("bench/community_peer.py not found next to the benchmark");
  return script;
}

function python(args: string[]): unknown {
  const result = spawnSync(PYTHON, [peerScript(), ...args], { encoding: "utf8", maxBuffer: 1 << 30, timeout: 900_000 });
  if (result.error) throw new Error(`${PYTHON} could not run (${result.error.message}); the peer needs Debian's python3-igraph and python3-leidenalg`);
  if (result.status !== 0) throw new Error(`community_peer.py ${args[0]} failed:\n${result.stderr}`);
  return JSON.parse(result.stdout);
}

function fashionMnistPca(work: string): { data: Float32Array; rows: number } {
  const { rows } = python(["pca", work]) as { rows: number };
  const bytes = readFileSync(join(work, "pca50.f32"));
  return { data: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), rows };
}

/** Planted partition with `groups` groups: each node draws `inside` partners in its group and `outside` anywhere. */
function plantedGraph(n: number, groups: number, inside: number, outside: number, seed: number): EdgeList {
  const random = new Random(seed);
  const seen = new Set<number>();
  const src: number[] = [];
  const dst: number[] = [];
  const weight: number[] = [];
  const add = (a: number, b: number) => {
    if (a === b) return;
    const key = Math.min(a, b) * n + Math.max(a, b);
    if (seen.has(key)) return;
    seen.add(key);
    src.push(Math.min(a, b));
    dst.push(Math.max(a, b));
    weight.push(0.2 + 0.8 * random.next());
  };
  const size = n / groups;
  for (let v = 0; v < n; v++) {
    const group = v % groups;
    for (let k = 0; k < inside; k++) add(v, group + groups * random.int(size));
    for (let k = 0; k < outside; k++) add(v, random.int(n));
  }
  return { n, src: Uint32Array.from(src), dst: Uint32Array.from(dst), weight: Float32Array.from(weight) };
}

// ---------------------------------------------------------------------------------------------
// Implementations

function leidenalgRow(name: string, graph: EdgeList, seeds: number[], work: string): CommunityRow {
  log(`  leidenalg …`);
  writeFileSync(join(work, "src.u32"), graph.src);
  writeFileSync(join(work, "dst.u32"), graph.dst);
  writeFileSync(join(work, "w.f32"), Float32Array.from(graph.weight));
  const out = python(["leiden", work, String(graph.n), seeds.join(",")]) as {
    build_seconds: number;
    leidenalg: string;
    runs: Array<{ seconds: number; modularity: number; membership: number[] }>;
  };
  const memberships = out.runs.map((r) => Int32Array.from(r.membership));
  return summarise(name, `leidenalg ${out.leidenalg} find_partition`, "leiden", graph, memberships, out.runs.map((r) => r.seconds), out.build_seconds);
}

function measure(
  name: string,
  implementation: string,
  algorithm: "leiden" | "louvain",
  graph: EdgeList,
  seeds: number[],
  setupSeconds: number,
  detect: (seed: number) => Int32Array,
  note?: string,
): CommunityRow {
  log(`  ${implementation} …`);
  // One untimed run first, so the JavaScript rows time compiled code, not V8's warm-up.
  detect(seeds[0]!);
  const memberships: Int32Array[] = [];
  const seconds: number[] = [];
  for (const seed of seeds) {
    const started = performance.now();
    memberships.push(detect(seed));
    seconds.push((performance.now() - started) / 1000);
  }
  return summarise(name, implementation, algorithm, graph, memberships, seconds, setupSeconds, note);
}

async function javascriptPeers(name: string, graph: EdgeList, seeds: number[]): Promise<CommunityRow[]> {
  const rows: CommunityRow[] = [];
  const { n, src, dst, weight } = graph;
  const m = src.length;

  // graphology + graphology-communities-louvain (Louvain only), with its seeded rng option.
  const { UndirectedGraph } = await import("graphology");
  // A CommonJS module whose typings declare an ES default export: type the call we make.
  const louvainPackage = (await import("graphology-communities-louvain")).default as unknown as (
    graph: InstanceType<typeof UndirectedGraph>,
    options: { rng: () => number },
  ) => Record<string, number>;
  let started = performance.now();
  const g = new UndirectedGraph();
  for (let v = 0; v < n; v++) g.addNode(v);
  for (let e = 0; e < m; e++) g.addEdge(src[e]!, dst[e]!, { weight: weight[e]! });
  const graphologySetup = (performance.now() - started) / 1000;
  rows.push(
    measure(name, "graphology-communities-louvain 2.0.2", "louvain", graph, seeds, graphologySetup, (seed) => {
      const random = new Random(seed);
      const communities = louvainPackage(g, { rng: () => random.next() });
      return Int32Array.from({ length: n }, (_, v) => communities[v]!);
    }),
  );

  // leiden-ts (typed-array Leiden).
  const leidenTs = await import("leiden-ts");
  started = performance.now();
  const edges: Array<[number, number, number]> = new Array(m);
  for (let e = 0; e < m; e++) edges[e] = [src[e]!, dst[e]!, weight[e]!];
  const tsGraph = leidenTs.Graph.fromEdgeList(n, edges);
  const tsSetup = (performance.now() - started) / 1000;
  rows.push(
    measure(name, "leiden-ts 0.1.0", "leiden", graph, seeds, tsSetup, (seed) => Int32Array.from(leidenTs.leiden(tsGraph, { seed }).partition.assignments)),
  );

  // ngraph.leiden (Leiden/Louvain on ngraph.graph); slow, so one run.
  const ngraphModule = "ngraph.leiden"; // no type declarations ship with it
  const { detectClusters } = (await import(ngraphModule)) as {
    detectClusters: (graph: unknown, options: object) => { getClass(id: number): number };
  };
  const createGraph = (await import("ngraph.graph")).default;
  started = performance.now();
  const ng = createGraph();
  for (let v = 0; v < n; v++) ng.addNode(v);
  for (let e = 0; e < m; e++) ng.addLink(src[e]!, dst[e]!, { weight: weight[e]! });
  const ngSetup = (performance.now() - started) / 1000;
  rows.push(
    measure(name, "ngraph.leiden 0.2.0", "leiden", graph, seeds.slice(0, 1), ngSetup, (seed) => {
      const result = detectClusters(ng, { randomSeed: seed });
      return Int32Array.from({ length: n }, (_, v) => result.getClass(v));
    }, "one run: it is an order of magnitude slower than the others"),
  );
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Scoring and report

function summarise(
  graphName: string,
  implementation: string,
  algorithm: "leiden" | "louvain",
  graph: EdgeList,
  memberships: Int32Array[],
  seconds: number[],
  setupSeconds: number,
  note?: string,
): CommunityRow {
  // Every implementation's modularity is recomputed here by one formula, from its membership.
  const qs = memberships.map((membership) => modularity(graph, membership));
  return {
    graph: graphName,
    implementation,
    algorithm,
    runs: memberships.length,
    modularity: median(qs),
    modularity_range: [Math.min(...qs), Math.max(...qs)],
    seconds: median(seconds),
    setup_seconds: setupSeconds,
    communities: median(memberships.map((m) => new Set(m).size)),
    disconnected: Math.max(...memberships.map((m) => disconnectedCommunities(graph, m))),
    modularity_vs_leidenalg: null,
    time_vs_leidenalg: null,
    meets_bar: null,
    ...(note ? { note } : {}),
  };
}

function compare(row: CommunityRow, reference: CommunityRow): void {
  row.modularity_vs_leidenalg = row.modularity - reference.modularity;
  row.time_vs_leidenalg = row.seconds / reference.seconds;
  row.meets_bar = row.modularity_vs_leidenalg >= -BAR_MODULARITY && row.time_vs_leidenalg <= BAR_TIME && row.disconnected === 0;
}

/** Communities whose members do not form one connected piece (BFS inside each community). */
function disconnectedCommunities(graph: EdgeList, membership: Int32Array): number {
  const { n, src, dst } = graph;
  const offsets = new Int32Array(n + 1);
  for (let e = 0; e < src.length; e++) offsets[src[e]! + 1]!++, offsets[dst[e]! + 1]!++;
  for (let v = 0; v < n; v++) offsets[v + 1]! += offsets[v]!;
  const fill = offsets.slice(0, n);
  const adjacency = new Int32Array(2 * src.length);
  for (let e = 0; e < src.length; e++) adjacency[fill[src[e]!]!++] = dst[e]!, adjacency[fill[dst[e]!]!++] = src[e]!;
  const visited = new Uint8Array(n);
  const seen = new Set<number>();
  const stack = new Int32Array(n);
  let bad = 0;
  for (let s = 0; s < n; s++) {
    if (visited[s]) continue;
    const c = membership[s]!;
    if (seen.has(c)) bad++;
    seen.add(c);
    let top = 0;
    stack[top++] = s;
    visited[s] = 1;
    while (top) {
      const v = stack[--top]!;
      for (let k = offsets[v]!; k < offsets[v + 1]!; k++) {
        const u = adjacency[k]!;
        if (!visited[u] && membership[u] === c) (visited[u] = 1), (stack[top++] = u);
      }
    }
  }
  return bad;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function render(report: CommunityReport): string {
  const lines: string[] = [];
  for (const g of report.graphs) {
    const build = g.build ? `; built in ${(g.build.ms / 1000).toFixed(1)} s` : "";
    lines.push(`${g.name}: ${g.nodes} nodes, ${g.edges} edges — ${g.how}${build}`);
    const header = ["implementation", "algo", "runs", "modularity", "ΔQ vs la", "time s", "× la", "setup s", "comms", "disconn", "bar"];
    const rows = report.rows.filter((r) => r.graph === g.name).map((r) => [
      r.implementation,
      r.algorithm,
      String(r.runs),
      r.modularity.toFixed(4),
      signed(r.modularity_vs_leidenalg!),
      r.seconds.toFixed(2),
      r.time_vs_leidenalg!.toFixed(2),
      r.setup_seconds.toFixed(2),
      String(r.communities),
      String(r.disconnected),
      r.meets_bar ? "yes" : "no",
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
    lines.push(line(header), ...rows.map(line), "");
  }
  lines.push(`bar: ${report.bar}; "disconn" counts internally disconnected communities (must be 0).`);
  return lines.join("\n") + "\n";
}

function signed(x: number): string {
  return (x >= 0 ? "+" : "") + x.toFixed(4);
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}
