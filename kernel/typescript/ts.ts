/**
 * The stock TypeScript compiler, loaded with `require`: importing the 9 MB CommonJS file as an
 * ES module makes Node scan it for named exports first (~0.8 s measured here).
 */
import { createRequire } from "node:module";
import type * as TS from "typescript";

export const ts: typeof TS = createRequire(import.meta.url)("typescript");
