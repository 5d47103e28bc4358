/** Short numbers for progress text and logs. */

/** 0.8123 → "81.2%". */
export function percent(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** A loss: 4 significant digits. */
export function lossText(x: number): string {
  return Number.isFinite(x) ? x.toPrecision(4) : String(x);
}

/** A learning rate: 2 significant digits in exponent form. */
export function lrText(x: number): string {
  return x.toExponential(2);
}

/** 75.3 → "1m15s". */
export function seconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s - 60 * m)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}
