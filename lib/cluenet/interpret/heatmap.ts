/** Cluster maps and occlusion scores as Plotly heatmaps (hover shows the cluster of each pixel). */
import { plotly, type PlotlyFigure, type PlotlyTrace } from "../../display/index.js";
import type { OcclusionRanking } from "./occlusion.js";
import { cssColor } from "./palette.js";
import { mapOf, type ClusterMaps } from "./trace.js";

function rows(values: ArrayLike<number>, width: number, height: number): number[][] {
  return Array.from({ length: height }, (_, r) => Array.from({ length: width }, (_, c) => values[r * width + c]!));
}

/** A stepwise colourscale giving integer z = k the colour of cluster k, for z in [−0.5, count − 0.5]. */
function clusterScale(count: number): Array<[number, string]> {
  const scale: Array<[number, string]> = [];
  for (let k = 0; k < count; k++) scale.push([k / count, cssColor(k)], [(k + 1) / count, cssColor(k)]);
  return scale;
}

/**
 * Every stage's cluster map (per head) of image `image` as heatmaps in a grid: a row per stage,
 * its heads across; colours as the overlays, hover shows the cluster of each pixel.
 */
export function heatmap(maps: ClusterMaps, image: number, options: { title?: string; stages?: readonly number[]; maxHeads?: number; cellSize?: number } = {}): PlotlyFigure {
  const stages = options.stages ?? maps.stages.map((s) => s.stage);
  const columns = Math.min(options.maxHeads ?? Infinity, Math.max(...stages.map((s) => maps.stages[s]!.heads)));
  const traces: PlotlyTrace[] = [];
  const layout: Record<string, unknown> = {
    title: { text: options.title ?? "cluster maps (stage × head)" },
    grid: { rows: stages.length, columns, pattern: "independent" },
    margin: { t: 48, r: 8, b: 8, l: 8 },
    height: stages.length * (options.cellSize ?? 150) + 60,
    width: columns * (options.cellSize ?? 150) + 20,
    annotations: [] as unknown[],
  };
  stages.forEach((s, row) => {
    const stage = maps.stages[s]!;
    const count = stage.clusters[0] * stage.clusters[1];
    for (let h = 0; h < Math.min(stage.heads, columns); h++) {
      const k = row * columns + h + 1;
      const axis = k === 1 ? "" : String(k);
      traces.push({
        type: "heatmap",
        z: rows(mapOf(maps, image, s, h), maps.width, maps.height),
        zmin: -0.5,
        zmax: count - 0.5,
        colorscale: clusterScale(count),
        showscale: false,
        xaxis: `x${axis}`,
        yaxis: `y${axis}`,
        name: `stage ${s} head ${h}`,
        hovertemplate: `stage ${s} · head ${h}<br>pixel (%{y}, %{x})<br>cluster %{z}<extra></extra>`,
      });
      layout[`xaxis${axis}`] = { visible: false, constrain: "domain" };
      layout[`yaxis${axis}`] = { visible: false, autorange: "reversed", scaleanchor: `x${axis}` };
      (layout.annotations as unknown[]).push({ text: `stage ${s} · head ${h}`, showarrow: false, xref: `x${axis} domain`, yref: `y${axis} domain`, x: 0.5, y: 1.08, font: { size: 11 } });
    }
  });
  return plotly({ data: traces, layout, config: { displaylogo: false } });
}

/**
 * An occlusion ranking as a heatmap: each pixel shows the score of its cluster; hover gives the
 * cluster, its rank, drop, keep and score.
 */
export function importanceHeatmap(result: OcclusionRanking, width: number, height: number, options: { title?: string; size?: number } = {}): PlotlyFigure {
  const score = new Float32Array(width * height);
  const text: string[] = new Array<string>(width * height).fill("");
  result.ranking.forEach((c, rank) => {
    for (let p = 0; p < c.mask.length; p++) {
      if (!c.mask[p]) continue;
      score[p] = c.score;
      text[p] = `cluster ${c.cluster} (rank ${rank + 1})<br>drop ${c.drop.toFixed(3)} · keep ${c.keep.toFixed(3)}<br>score ${c.score.toFixed(3)}`;
    }
  });
  return plotly({
    data: [{ type: "heatmap", z: rows(score, width, height), text: rows(text as unknown as number[], width, height), hovertemplate: "%{text}<extra></extra>", colorscale: "Inferno", colorbar: { title: { text: "score" } } }],
    layout: {
      title: { text: options.title ?? `cluster importance (p(true) = ${result.probability.toFixed(3)})` },
      xaxis: { visible: false, constrain: "domain" },
      yaxis: { visible: false, autorange: "reversed", scaleanchor: "x" },
      width: options.size ?? 380,
      height: options.size ?? 340,
      margin: { t: 48, r: 8, b: 8, l: 8 },
    },
  });
}
