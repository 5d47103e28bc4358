/**
 * Plotly figures (plain objects) for DCvCD runs: embeddings by label, main communities by round,
 * the pool, purity and the merge-score terms.
 * @packageDocumentation
 */
export { project2d, labelScatter, communityRounds, poolSizeFigure, purityFigure, mergeTermsFigure, type PlotlyFigure, type ScatterOptions } from "./figures.js";
