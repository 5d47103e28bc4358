/**
 * Cursor positions: the Jupyter protocol counts Unicode code points, JavaScript strings count
 * UTF-16 units (an emoji is one code point and two units).
 */

/** The UTF-16 offset of the `points`-th code point of `text` (clamped to its length). */
export function codePointsToUtf16(text: string, points: number): number {
  let offset = 0;
  for (let i = 0; i < points && offset < text.length; i++) {
    const code = text.charCodeAt(offset);
    offset += code >= 0xd800 && code <= 0xdbff && offset + 1 < text.length ? 2 : 1;
  }
  return offset;
}

/** The number of code points in the first `offset` UTF-16 units of `text`. */
export function utf16ToCodePoints(text: string, offset: number): number {
  let points = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < offset) i++;
    points++;
  }
  return points;
}
