/**
 * A temporary notebook folder with real packages in its `node_modules`, written by the test:
 * an ESM-only package, a CommonJS package (both with types) and a package without types.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function writePackage(root: string, name: string, files: Record<string, string>): void {
  const dir = join(root, "node_modules", name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
}

export function notebookFolder(): string {
  const root = mkdtempSync(join(tmpdir(), "cluelab-notebook-"));
  writePackage(root, "esm-only-pkg", {
    "package.json": JSON.stringify({ name: "esm-only-pkg", version: "1.0.0", type: "module", exports: { ".": { types: "./index.d.ts", import: "./index.js" } } }),
    "index.js": 'export function greet(name) { return `hi ${name}`; }\nexport const kind = "esm";\n',
    "index.d.ts": "/** Greets someone. */\nexport declare function greet(name: string): string;\nexport declare const kind: \"esm\";\n",
  });
  writePackage(root, "cjs-pkg", {
    "package.json": JSON.stringify({ name: "cjs-pkg", version: "1.0.0", main: "index.js", types: "index.d.ts" }),
    "index.js": "exports.add = function add(a, b) { return a + b; };\nexports.kind = 'cjs';\n",
    "index.d.ts": "export declare function add(a: number, b: number): number;\nexport declare const kind: string;\n",
  });
  writePackage(root, "untyped-pkg", {
    "package.json": JSON.stringify({ name: "untyped-pkg", version: "1.0.0", main: "index.js" }),
    "index.js": "module.exports = { answer: 42 };\n",
  });
  return root;
}
