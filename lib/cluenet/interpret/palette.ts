/** Distinct colours for cluster indices, any count (golden-angle hues, alternating lightness). */

/** The RGB colour (0–255) of cluster `index`. */
export function clusterColor(index: number): [number, number, number] {
  const hue = (index * 137.508) % 360;
  const saturation = index % 2 === 0 ? 0.75 : 0.6;
  const lightness = [0.5, 0.62, 0.42][index % 3]!;
  return hslToRgb(hue, saturation, lightness);
}

/** `rgb(r,g,b)` for Plotly and HTML. */
export function cssColor(index: number): string {
  const [r, g, b] = clusterColor(index);
  return `rgb(${r},${g},${b})`;
}

function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs(((h / 60) % 2) - 1));
  const m = l - c / 2;
  const [r, g, b] = h < 60 ? [c, x, 0] : h < 120 ? [x, c, 0] : h < 180 ? [0, c, x] : h < 240 ? [0, x, c] : h < 300 ? [x, 0, c] : [c, 0, x];
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}
