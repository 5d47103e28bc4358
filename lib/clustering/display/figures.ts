/**
 * Plotly figures for walking through a DCvCD run: plain `{ data, layout, frames }` objects that
 * any Plotly renderer takes (cluelab's `plotly(figure)` in a notebook, `Plotly.newPlot` in a page).
 */
import type { RowMatrix } from "../graph/embeddings.js";
import type { RoundRecord } from "../dcvcd/pipeline.js";
import { Random } from "../random.js";

/** A Plotly figure as plain data. */
export interface PlotlyFigure {
  data: Array<Record<string, unknown>>;
  layout: Record<string, unknown>;
  frames?: Array<{ name: string; data: Array<Record<string, unknown>> }>;
}

/** Ten distinguishable colours (Plotly's default cycle), then greys for anything beyond. */
const PALETTE = ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52"];
const POOL_COLOUR = "#c8c8c8";
const colour = (k: number) => PALETTE[k % PALETTE.length]!;

/**
 * Projects embeddings to 2-D with PCA (the top two principal axes, by power iteration on the
 * covariance): a cheap, deterministic view for the scatter plots.
 */
export function project2d(z: RowMatrix, seed = 0): { x: Float32Array; y: Float32Array } {
  const { data, rows, cols: d } = z;
  const mean = new Float64Array(d);
  for (let i = 0; i < rows; i++) for (let j = 0; j < d; j++) mean[j]! += data[i * d + j]! / rows;
  const cov = new Float64Array(d * d);
  const centred = new Float64Array(d);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < d; j++) centred[j] = data[i * d + j]! - mean[j]!;
    for (let a = 0; a < d; a++) for (let b = a; b < d; b++) cov[a * d + b]! += centred[a]! * centred[b]!;
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) cov[a * d + b] = cov[b * d + a]!;
  const random = new Random(seed);
  const axes: Float64Array[] = [];
  for (let c = 0; c < 2; c++) {
    let v = Float64Array.from({ length: d }, () => random.next() - 0.5);
    for (let it = 0; it < 200; it++) {
      const next = new Float64Array(d);
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) next[a]! += cov[a * d + b]! * v[b]!;
      for (const axis of axes) {
        // Deflate: stay orthogonal to the axes already found.
        let dot = 0;
        for (let a = 0; a < d; a++) dot += next[a]! * axis[a]!;
        for (let a = 0; a < d; a++) next[a]! -= dot * axis[a]!;
      }
      const norm = Math.hypot(...next) || 1;
      v = next.map((x) => x / norm);
    }
    axes.push(v);
  }
  const x = new Float32Array(rows);
  const y = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    let px = 0;
    let py = 0;
    for (let j = 0; j < d; j++) {
      const c = data[i * d + j]! - mean[j]!;
      px += c * axes[0]![j]!;
      py += c * axes[1]![j]!;
    }
    x[i] = px;
    y[i] = py;
  }
  return { x, y };
}

/** Options of the scatter plots. */
export interface ScatterOptions {
  /** Plot at most this many points, a seeded uniform sample (default 4000): notebooks stay small. */
  maxPoints?: number;
  /** Names of the classes or clusters, by label value. */
  names?: readonly string[];
  title?: string;
  seed?: number;
}

function sample(n: number, maxPoints: number, seed: number): Int32Array {
  const order = new Random(seed).permutation(n);
  return order.subarray(0, Math.min(n, maxPoints)).sort();
}

function scatterTraces(
  points: { x: ArrayLike<number>; y: ArrayLike<number> },
  labels: ArrayLike<number>,
  shown: Int32Array,
  name: (label: number) => string,
): Array<Record<string, unknown>> {
  const groups = new Map<number, number[]>();
  for (const i of shown) {
    const l = labels[i]!;
    let g = groups.get(l);
    if (!g) groups.set(l, (g = []));
    g.push(i);
  }
  return [...groups.keys()].sort((a, b) => a - b).map((l) => ({
    type: "scattergl",
    mode: "markers",
    name: name(l),
    x: groups.get(l)!.map((i) => points.x[i]!),
    y: groups.get(l)!.map((i) => points.y[i]!),
    marker: { size: 4, color: l < 0 ? POOL_COLOUR : colour(l), opacity: l < 0 ? 0.5 : 0.8 },
  }));
}

/** A 2-D scatter of the samples coloured by a labeling (true classes, final clusters, …). */
export function labelScatter(points: { x: ArrayLike<number>; y: ArrayLike<number> }, labels: ArrayLike<number>, options: ScatterOptions = {}): PlotlyFigure {
  const { maxPoints = 4000, names, title = "samples by label", seed = 0 } = options;
  const shown = sample(labels.length, maxPoints, seed);
  return {
    data: scatterTraces(points, labels, shown, (l) => names?.[l] ?? `label ${l}`),
    layout: { title: { text: title }, xaxis: { title: { text: "PC 1" } }, yaxis: { title: { text: "PC 2" } }, legend: { itemsizing: "constant" } },
  };
}

/**
 * The main communities round by round, in a 2-D scatter with a slider and a play button: each
 * frame colours the samples by main community, the pool in grey.
 */
export function communityRounds(points: { x: ArrayLike<number>; y: ArrayLike<number> }, rounds: RoundRecord[], options: ScatterOptions = {}): PlotlyFigure {
  const { maxPoints = 4000, names, title = "main communities by round (grey: pool)", seed = 0 } = options;
  if (rounds.length === 0) throw new RangeError("communityRounds: no rounds to show");
  const n = rounds[0]!.mainOf.length;
  const shown = sample(n, maxPoints, seed);
  const mains = rounds[0]!.mainSizes.length;
  const name = (l: number) => (l < 0 ? "pool" : names?.[l] ?? `community ${l}`);
  // Every frame has the same traces (pool, then each main community), so Plotly can animate them.
  const frameData = (r: RoundRecord) => {
    const traces = scatterTraces(points, r.mainOf, shown, name);
    const byName = new Map(traces.map((t) => [t.name as string, t]));
    return [-1, ...Array.from({ length: mains }, (_, k) => k)].map(
      (l) => byName.get(name(l)) ?? { type: "scattergl", mode: "markers", name: name(l), x: [], y: [], marker: { size: 4, color: l < 0 ? POOL_COLOUR : colour(l) } },
    );
  };
  const frames = rounds.map((r) => ({ name: String(r.round), data: frameData(r) }));
  const steps = rounds.map((r) => ({
    label: String(r.round),
    method: "animate",
    args: [[String(r.round)], { mode: "immediate", frame: { duration: 500, redraw: true }, transition: { duration: 0 } }],
  }));
  return {
    data: frames[0]!.data,
    frames,
    layout: {
      title: { text: title },
      xaxis: { title: { text: "PC 1" } },
      yaxis: { title: { text: "PC 2" } },
      legend: { itemsizing: "constant" },
      sliders: [{ active: 0, currentvalue: { prefix: "round " }, steps }],
      updatemenus: [{
        type: "buttons",
        showactive: false,
        buttons: [{ label: "play", method: "animate", args: [null, { frame: { duration: 700, redraw: true }, fromcurrent: true }] }],
      }],
    },
  };
}

/** Pool size at the end of each round (round 0: after initialisation). */
export function poolSizeFigure(rounds: RoundRecord[]): PlotlyFigure {
  return {
    data: [{ type: "scatter", mode: "lines+markers", name: "pool", x: rounds.map((r) => r.round), y: rounds.map((r) => r.poolAfter) }],
    layout: { title: { text: "unlabelled pool by round" }, xaxis: { title: { text: "round" }, dtick: 1 }, yaxis: { title: { text: "samples in the pool" }, rangemode: "tozero" } },
  };
}

/** Main-community purity and the provisional ACC/NMI/ARI per round (needs a run with `truth`). */
export function purityFigure(rounds: RoundRecord[]): PlotlyFigure {
  const x = rounds.map((r) => r.round);
  const line = (name: string, y: Array<number | undefined>) => ({ type: "scatter", mode: "lines+markers", name, x, y: y.map((v) => v ?? null) });
  return {
    data: [
      line("main purity", rounds.map((r) => r.purity)),
      line("ACC", rounds.map((r) => r.metrics?.acc)),
      line("NMI", rounds.map((r) => r.metrics?.nmi)),
      line("ARI", rounds.map((r) => r.metrics?.ari)),
    ],
    layout: { title: { text: "purity and scores by round (pool at nearest centroid)" }, xaxis: { title: { text: "round" }, dtick: 1 }, yaxis: { range: [0, 1] } },
  };
}

/**
 * The merge-score terms of every accepted merge: ΔQ and Δk̄ (raw) and the mean distance t, one
 * point per merge, by round; hover shows the pair and the merged size.
 */
export function mergeTermsFigure(rounds: RoundRecord[], names?: readonly string[]): PlotlyFigure {
  const merges = rounds.flatMap((r) => r.merges.map((m) => ({ round: r.round, ...m })));
  const text = merges.map((m) => `${names?.[m.label] ?? `community ${m.label}`} ← isolated ${m.isolated} (${m.size} samples), L = ${m.score.toFixed(3)}`);
  const term = (name: string, y: number[], axis: string) => ({
    type: "scatter", mode: "markers", name, x: merges.map((m) => m.round), y, text, hoverinfo: "text+y", yaxis: axis,
  });
  return {
    data: [
      term("ΔQ", merges.map((m) => m.dQ), "y"),
      term("Δk̄", merges.map((m) => m.dk), "y2"),
      term("t (mean distance)", merges.map((m) => m.t), "y3"),
    ],
    layout: {
      title: { text: "merge-score terms of the chosen pairs" },
      grid: { rows: 3, columns: 1, pattern: "coupled" },
      xaxis: { title: { text: "round" }, dtick: 1 },
      yaxis: { title: { text: "ΔQ" } },
      yaxis2: { title: { text: "Δk̄" } },
      yaxis3: { title: { text: "t" } },
    },
  };
}
