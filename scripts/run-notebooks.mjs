#!/usr/bin/env node
/**
 * Executes the curated notebooks through a real Jupyter client (nbclient, via
 * `/usr/bin/jupyter nbconvert --execute`) on the cluelab kernel, installed for the run into a
 * temporary prefix (nothing is written to the user's Jupyter folders).
 *
 *   node scripts/run-notebooks.mjs --quick            # CI: CLUELAB_QUICK=1, executed copies in a temp folder
 *   node scripts/run-notebooks.mjs --out runs/notebooks  # full mode, executed copies kept in runs/notebooks
 *   node scripts/run-notebooks.mjs --only 01,04 --quick
 *   node scripts/run-notebooks.mjs --out runs/notebooks --html   # npm start: also an HTML page per notebook
 *
 * Notebooks run in file-name order in one folder (the out folder), so a later notebook finds
 * what an earlier one saved there (04 uses the model 01 trained). Prints one line per notebook
 * with its wall time, and `--json FILE` writes them. Exits non-zero when a notebook fails; the
 * executed notebook (with the failing cell's error) is kept in the out folder.
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const NOTEBOOKS = join(ROOT, "notebooks");
const JUPYTER = process.env.CLUELAB_JUPYTER ?? "/usr/bin/jupyter";

function usage(message) {
  if (message) process.stderr.write(`run-notebooks: ${message}\n`);
  process.stderr.write("usage: node scripts/run-notebooks.mjs [--quick] [--out DIR] [--only 01,03] [--cell-timeout SECONDS] [--json FILE] [--html]\n");
  process.exit(2);
}

const args = process.argv.slice(2);
const options = { quick: false, out: undefined, only: undefined, cellTimeout: undefined, json: undefined, html: false };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const value = () => args[++i] ?? usage(`${a} needs a value`);
  if (a === "--quick") options.quick = true;
  else if (a === "--out") options.out = resolve(value());
  else if (a === "--only") options.only = value().split(",").map((s) => s.trim());
  else if (a === "--cell-timeout") options.cellTimeout = Number(value());
  else if (a === "--json") options.json = resolve(value());
  else if (a === "--html") options.html = true;
  else if (a === "-h" || a === "--help") usage();
  else usage(`unknown option ${a}`);
}
const cellTimeout = options.cellTimeout ?? (options.quick ? 600 : -1);
if (!Number.isFinite(cellTimeout)) usage("--cell-timeout must be a number of seconds (-1: none)");

if (!existsSync(JUPYTER)) {
  process.stderr.write(`run-notebooks: ${JUPYTER} not found; install Debian's jupyter-nbconvert and python3-nbclient (scripts/setup-system.sh does)\n`);
  process.exit(1);
}
const cliMain = join(ROOT, "dist", "cli", "main.js");
if (!existsSync(cliMain)) {
  process.stderr.write("run-notebooks: dist/cli/main.js is missing; run `npm run build` first\n");
  process.exit(1);
}

const all = readdirSync(NOTEBOOKS).filter((f) => /^\d\d-.*\.ipynb$/.test(f)).sort();
const chosen = options.only ? all.filter((f) => options.only.some((o) => f.startsWith(o))) : all;
if (chosen.length === 0) usage(`no notebook matches ${options.only?.join(", ")}; there are ${all.join(", ")}`);

const scratch = mkdtempSync(join(tmpdir(), "cluelab-notebooks-"));
const out = options.out ?? join(scratch, "run");
mkdirSync(out, { recursive: true });
const prefix = join(scratch, "prefix");
const install = spawnSync(process.execPath, [cliMain, "install", "--prefix", prefix, "--name", "cluelab"], { encoding: "utf8" });
if (install.status !== 0) {
  process.stderr.write(`run-notebooks: installing the kernelspec failed: ${install.stderr}\n`);
  process.exit(1);
}

const env = {
  ...process.env,
  JUPYTER_PATH: join(prefix, "share", "jupyter"),
  // A private runtime folder: connection files of this run do not mix with the user's.
  JUPYTER_RUNTIME_DIR: join(scratch, "runtime"),
  ...(options.quick ? { CLUELAB_QUICK: "1" } : {}),
};
if (!options.quick) delete env.CLUELAB_QUICK;

function execute(name) {
  const source = join(out, name);
  copyFileSync(join(NOTEBOOKS, name), source);
  const started = performance.now();
  return new Promise((resolveRun) => {
    const child = spawn(
      JUPYTER,
      [
        "nbconvert", "--to", "notebook", "--execute", "--inplace",
        "--ExecutePreprocessor.kernel_name=cluelab",
        `--ExecutePreprocessor.timeout=${cellTimeout}`,
        "--ExecutePreprocessor.startup_timeout=120",
        source,
      ],
      { cwd: out, env, stdio: ["ignore", "pipe", "pipe"] },
    );
    let log = "";
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    child.on("close", (code) => resolveRun({ name, ok: code === 0, seconds: (performance.now() - started) / 1000, log, path: source }));
  });
}

process.stdout.write(`running ${chosen.length} notebook(s) ${options.quick ? "in quick mode (CLUELAB_QUICK=1)" : "in full mode"} in ${out}\n`);
const results = [];
for (const name of chosen) {
  const r = await execute(name);
  results.push(r);
  process.stdout.write(`${r.ok ? "ok  " : "FAIL"} ${name.padEnd(32)} ${r.seconds.toFixed(1).padStart(7)} s\n`);
  if (!r.ok) process.stdout.write(r.log.split("\n").slice(-40).join("\n") + "\n");
  // A page anyone can open without Jupyter; nbconvert's HTML keeps Plotly figures and images.
  if (options.html) {
    const html = spawnSync(JUPYTER, ["nbconvert", "--to", "html", r.path], { cwd: out, env, encoding: "utf8" });
    if (html.status !== 0) process.stdout.write(`     (no HTML page: ${html.stderr.trim().split("\n").pop()})\n`);
  }
}
const total = results.reduce((a, r) => a + r.seconds, 0);
process.stdout.write(`total ${total.toFixed(1)} s; executed notebooks in ${out}\n`);
if (options.html && options.out) {
  process.stdout.write(`pages to open in a browser: ${join(out, "*.html")}\n`);
  process.stdout.write(`to work in them with Jupyter: npx cluelab install --user && ${JUPYTER} notebook ${out}\n`);
}
if (options.json) writeFileSync(options.json, JSON.stringify({ quick: options.quick, out, notebooks: results.map(({ log: _log, ...r }) => r), total }, null, 1) + "\n");
// The kernelspec and runtime files go; executed notebooks stay in --out, or (without --out) only when one failed.
if (options.out || results.every((r) => r.ok)) rmSync(scratch, { recursive: true, force: true });
else {
  rmSync(prefix, { recursive: true, force: true });
  process.stdout.write(`kept for inspection: ${out}\n`);
}
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
