/**
 * How plotly.js travels with the notebook, so figures draw with no network.
 *
 * plotly.js (the pinned `plotly.js-dist-min`, 4.8 MB) is sent gzip-compressed and base64-encoded
 * (about 2 MB) in a small "library" output, at most once per cell execution, just before the
 * first figure of the cell. Figures carry only their data and a script that draws as soon as
 * `window.Plotly` exists; the library output defines it once per page (decompressed in the
 * browser with `DecompressionStream`) and draws every figure that was waiting.
 *
 * Why this way: a figure updated in place (a live training curve) re-sends only its data, never
 * the library; the library lives in an output that updates do not replace, so the saved notebook
 * still has it; any cell's outputs carry what they need, so a notebook whose other cells were
 * cleared or never run still draws, and so does nbconvert's HTML of it. The price is one copy per
 * cell that shows figures (not per figure, not per update).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { gzipSync } from "node:zlib";
import type { DisplayData } from "../bundle.js";
import { onClearOutput } from "../display.js";
import { currentAbortSignal, getDisplaySink } from "../protocol.js";

/** The page-global key figures and the library meet on (a queue of draw functions). */
export const PAGE_KEY = "__cluelabPlotly";

interface Library {
  version: string;
  gzipBase64: string;
}

let library: Library | undefined;

/** plotly.js, compressed once per process (about 0.1 s). */
export function plotlyLibrary(): Library {
  if (library === undefined) {
    const require = createRequire(import.meta.url);
    const main = require.resolve("plotly.js-dist-min");
    const { version } = require("plotly.js-dist-min/package.json") as { version: string };
    library = { version, gzipBase64: gzipSync(readFileSync(main)).toString("base64") };
  }
  return library;
}

/**
 * A `<script>` that defines `window.Plotly` from the embedded copy unless the page already has
 * it, then draws the figures waiting for it. Safe to include any number of times in a page.
 */
export function libraryScript(): string {
  const { version, gzipBase64 } = plotlyLibrary();
  return `<script data-cluelab-plotly="${version}">(function () {
  var w = window, K = ${JSON.stringify(PAGE_KEY)};
  function ready() {
    var waiting = w[K];
    w[K] = { push: function (draw) { draw(w.Plotly); } };
    if (waiting && waiting.length) for (var i = 0; i < waiting.length; i++) waiting[i](w.Plotly);
  }
  if (w.Plotly && w.Plotly.newPlot) { if (!w[K] || w[K].length !== undefined) ready(); return; }
  if (w[K + "Loading"]) return;
  w[K + "Loading"] = true;
  if (typeof DecompressionStream === "undefined") { console.error("cluelab: this browser lacks DecompressionStream; plotly.js cannot load"); return; }
  var s = atob("${gzipBase64}"), b = new Uint8Array(s.length);
  for (var i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  new Response(new Blob([b]).stream().pipeThrough(new DecompressionStream("gzip"))).text().then(function (code) {
    var e = document.createElement("script");
    e.textContent = code;
    document.head.appendChild(e);
    ready();
  }, function (error) { console.error("cluelab: could not load plotly.js", error); });
})();</script>`;
}

/** The library output: invisible in HTML frontends, empty in text ones. */
export function libraryData(): DisplayData {
  return { bundle: { "text/html": libraryScript(), "text/plain": "" } };
}

const cellsWithLibrary = new WeakSet<AbortSignal>();
let listening = false;

/**
 * Inside a kernel, sends the library output unless this cell execution already has one (cells
 * are told apart by their AbortSignal; without one, every call sends it). `clearOutput` may
 * remove it, so a clear makes the next figure send it again.
 * @returns whether a kernel is attached (otherwise figures must embed the library themselves)
 */
export function ensureLibraryInCell(): boolean {
  const sink = getDisplaySink();
  if (sink === undefined) return false;
  if (!listening) {
    listening = true;
    onClearOutput(() => {
      const cell = currentAbortSignal();
      if (cell) cellsWithLibrary.delete(cell);
    });
  }
  const cell = currentAbortSignal();
  if (cell !== undefined && cellsWithLibrary.has(cell)) return true;
  if (cell !== undefined) cellsWithLibrary.add(cell);
  // Sent directly, not through the ordered queue: its place among the outputs does not matter
  // (figures wait for it wherever it is), and a figure being rendered inside the queue must not
  // wait for it.
  sink.display(libraryData());
  return true;
}
