/** The looks of a progress bar: one state, rendered as text, HTML, and the widget's status line. */
import { escapeHtml } from "../text.js";

/** How a progress bar ended, or that it has not. */
export type ProgressStatus = "running" | "complete" | "stopped" | "interrupted";

/** Everything a rendering shows. */
export interface ProgressState {
  label: string | undefined;
  value: number;
  total: number;
  text: string | undefined;
  elapsedMs: number;
  status: ProgressStatus;
}

/** The filled fraction, in [0, 1]. */
export function fraction(state: ProgressState): number {
  if (state.total === 0) return state.status === "running" ? 0 : 1;
  return Math.min(1, Math.max(0, state.value / state.total));
}

/** `45/100 [00:12<00:15, 3.61/s] text` — counts, elapsed<remaining, rate, and the user's text. */
export function statusText(state: ProgressState): string {
  const seconds = state.elapsedMs / 1000;
  const rate = seconds > 0 && state.value > 0 ? state.value / seconds : undefined;
  const timing =
    state.status === "running"
      ? `${duration(seconds)}<${rate ? duration(Math.max(0, state.total - state.value) / rate) : "?"}`
      : duration(seconds);
  const rateText = rate === undefined ? "" : `, ${rate >= 1 ? rate.toFixed(rate >= 100 ? 0 : 2) + "/s" : (1 / rate).toFixed(2) + "s/it"}`;
  const ending = state.status === "interrupted" ? " interrupted" : state.status === "stopped" ? " stopped" : "";
  return `${count(state.value)}/${count(state.total)} [${timing}${rateText}]${ending}${state.text ? ` ${state.text}` : ""}`;
}

/** One line of text: `label  45% |█████▌    | 45/100 [00:12<00:15, 3.61/s] text`. */
export function plainLine(state: ProgressState): string {
  const f = fraction(state);
  const width = 24;
  const cells = f * width;
  const full = Math.floor(cells);
  const partial = full < width ? PARTIAL[Math.floor((cells - full) * PARTIAL.length)] ?? "" : "";
  const bar = ("█".repeat(full) + partial).padEnd(width, " ");
  const label = state.label ? `${state.label} ` : "";
  return `${label}${String(Math.floor(f * 100)).padStart(3)}% |${bar}| ${statusText(state)}`;
}

const PARTIAL = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];

/** Bar colours by status (also what the widget's `bar_style` expresses). */
export const BAR_COLOURS: Record<ProgressStatus, string> = {
  running: "#2196f3",
  complete: "#4caf50",
  stopped: "#ff9800",
  interrupted: "#f44336",
};

/** The widget's `bar_style` for a status. */
export const BAR_STYLES: Record<ProgressStatus, string> = { running: "", complete: "success", stopped: "warning", interrupted: "danger" };

/** A self-contained HTML bar (inline styles only: it renders anywhere, with no script or CSS). */
export function barHtml(state: ProgressState): string {
  const percent = (fraction(state) * 100).toFixed(1);
  const label = state.label ? `<span style="white-space:nowrap">${escapeHtml(state.label)}</span>` : "";
  return (
    `<div class="cluelab-progress" style="display:flex;align-items:center;gap:8px;font:13px/1.4 sans-serif">` +
    label +
    `<div style="flex:0 1 320px;min-width:120px;height:14px;background:#e0e0e0;border-radius:3px;overflow:hidden">` +
    `<div style="width:${percent}%;height:100%;background:${BAR_COLOURS[state.status]}"></div></div>` +
    `<span style="white-space:nowrap">${escapeHtml(statusText(state))}</span></div>`
  );
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return hh > 0 ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

function count(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(4)));
}
