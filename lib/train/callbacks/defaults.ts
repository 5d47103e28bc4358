/** The callbacks `fit` uses when none are given. */
import { getDisplaySink } from "../../display/protocol.js";
import { liveChart } from "./live-chart.js";
import { progressBar } from "./progress-bar.js";
import { textLog } from "./text-log.js";
import type { Callback } from "./types.js";

/** In a notebook: a live loss/accuracy chart and a progress bar. Elsewhere: a progress line on stderr and a line per epoch. */
export function defaultCallbacks(): Callback[] {
  return getDisplaySink() !== undefined ? [liveChart(), progressBar()] : [progressBar(), textLog()];
}
