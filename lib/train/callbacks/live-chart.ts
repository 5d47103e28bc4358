/** A live Plotly chart of loss and accuracy, redrawn in place while training runs. */
import { plotly, type PlotlyFigure } from "../../display/index.js";
import type { Callback, EpochEvent, TrainBeginEvent, TrainHistory } from "./types.js";

/** Options of {@link liveChart}. */
export interface LiveChartOptions {
  /** Chart title (default "training"). */
  title?: string;
  /** Exponential smoothing of the per-step curves, in [0, 1) (default 0.9; 0 = raw). */
  smoothing?: number;
  /** Height in pixels (default 360). */
  height?: number;
}

// Trace order in the figure.
const RAW_LOSS = 0;
const LOSS = 1;
const VAL_LOSS = 2;
const ACC = 3;
const VAL_TOP1 = 4;
const VAL_TOP3 = 5;

/**
 * Loss (left) and accuracy (right) against epochs: per-step training curves (raw loss faint,
 * smoothed loss and accuracy solid) and validation points after every epoch. The figure is
 * shown when training starts (a resumed run redraws what its history holds) and updated live.
 */
export function liveChart(options: LiveChartOptions = {}): Callback & { readonly figure: PlotlyFigure | undefined } {
  const beta = options.smoothing ?? 0.9;
  if (!(beta >= 0 && beta < 1)) throw new RangeError(`liveChart: smoothing must be in [0, 1), got ${beta}`);
  let figure: PlotlyFigure | undefined;
  let emaLoss: number | undefined;
  let emaAcc: number | undefined;
  const smooth = (prev: number | undefined, x: number) => (prev === undefined ? x : beta * prev + (1 - beta) * x);

  const build = (event: TrainBeginEvent): PlotlyFigure => {
    const h = event.history;
    const lossX: number[] = [];
    const lossY: number[] = [];
    const accY: number[] = [];
    for (const s of h.steps) {
      emaLoss = smooth(emaLoss, s.loss);
      emaAcc = smooth(emaAcc, s.accuracy);
      lossX.push(s.progress);
      lossY.push(emaLoss);
      accY.push(emaAcc);
    }
    const val = validationPoints(h);
    return plotly({
      data: [
        { name: "train loss (step)", x: h.steps.map((s) => s.progress), y: h.steps.map((s) => s.loss), mode: "lines", line: { color: "#1f77b4", width: 1 }, opacity: 0.3, showlegend: false },
        { name: "train loss", x: lossX, y: lossY, mode: "lines", line: { color: "#1f77b4" } },
        { name: "validation loss", x: val.x, y: val.loss, mode: "lines+markers", line: { color: "#ff7f0e" } },
        { name: "train accuracy", x: [...lossX], y: accY, mode: "lines", line: { color: "#2ca02c" }, xaxis: "x2", yaxis: "y2" },
        { name: "validation top-1", x: [...val.x], y: val.top1, mode: "lines+markers", line: { color: "#d62728" }, xaxis: "x2", yaxis: "y2" },
        { name: "validation top-3", x: [...val.x], y: val.top3, mode: "lines+markers", line: { color: "#9467bd", dash: "dot" }, xaxis: "x2", yaxis: "y2" },
      ],
      layout: {
        title: { text: options.title ?? "training" },
        height: options.height ?? 360,
        margin: { t: 48, r: 16, b: 40, l: 56 },
        xaxis: { domain: [0, 0.45], title: { text: "epoch" }, range: [0, event.epochs] },
        yaxis: { title: { text: "loss" }, rangemode: "tozero" },
        xaxis2: { domain: [0.55, 1], title: { text: "epoch" }, anchor: "y2", range: [0, event.epochs] },
        yaxis2: { title: { text: "accuracy" }, anchor: "x2", range: [0, 1], tickformat: ".0%" },
        legend: { orientation: "h", y: -0.2 },
      },
    });
  };

  return {
    get figure() {
      return figure;
    },
    onTrainBegin(event) {
      figure = build(event).show();
    },
    onStepEnd(event) {
      if (!figure) return;
      emaLoss = smooth(emaLoss, event.loss);
      emaAcc = smooth(emaAcc, event.accuracy);
      // One redraw request per step (three extends would leave two to a timer that cannot fire while the next step runs).
      append(figure, [[RAW_LOSS, event.progress, event.loss], [LOSS, event.progress, emaLoss], [ACC, event.progress, emaAcc]]);
    },
    onEpochEnd(event: EpochEvent) {
      if (!figure || !event.validation) return;
      const x = event.epoch + 1;
      append(figure, [[VAL_LOSS, x, event.validation.loss], [VAL_TOP1, x, event.validation.top1], [VAL_TOP3, x, event.validation.top3]]);
    },
    onTrainEnd() {
      figure?.flush();
    },
  };
}

/** Appends one point to each of several traces, with a single (throttled) redraw. */
function append(figure: PlotlyFigure, points: Array<[trace: number, x: number, y: number]>): void {
  figure.update((f) => {
    for (const [trace, x, y] of points) {
      const t = f.data[trace]!;
      (t.x as number[]).push(x);
      (t.y as number[]).push(y);
    }
  });
}

function validationPoints(h: TrainHistory): { x: number[]; loss: number[]; top1: number[]; top3: number[] } {
  const done = h.epochs.filter((e) => e.validation);
  return {
    x: done.map((e) => e.epoch + 1),
    loss: done.map((e) => e.validation!.loss),
    top1: done.map((e) => e.validation!.top1),
    top3: done.map((e) => e.validation!.top3),
  };
}
