/**
 * Headless Chromium screenshots for tests that check what a page really draws (pixels, not HTML),
 * with every host name unresolvable: a page that needs the network shows nothing, as offline.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { PNG } from "pngjs";
import { run } from "./run.js";

export const CHROMIUM = "/usr/bin/chromium";

/** Renders `page` (a file path) at width×height and returns the screenshot. */
export async function screenshot(page: string, width: number, height: number, workDir: string): Promise<PNG> {
  const shot = join(workDir, `shot-${Math.random().toString(36).slice(2)}.png`);
  const r = await run(
    CHROMIUM,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--host-resolver-rules=MAP * ~NOTFOUND",
      "--virtual-time-budget=15000",
      `--user-data-dir=${join(workDir, "chromium-profile")}`,
      `--screenshot=${shot}`,
      `--window-size=${width},${height}`,
      `file://${page}`,
    ],
    { timeoutMs: 120_000 },
  );
  assert.equal(r.code, 0, `chromium failed: ${r.stderr}`);
  return PNG.sync.read(await readFile(shot));
}

/** How many pixels have exactly this colour. */
export function countColour(png: PNG, [r, g, b]: readonly [number, number, number]): number {
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4) if (png.data[i] === r && png.data[i + 1] === g && png.data[i + 2] === b) n++;
  return n;
}
