/**
 * Real Jupyter clients against the kernel (Debian's /usr/bin/python3 and its Jupyter packages):
 * the official jupyter_kernel_test suite, nbconvert/nbclient executing a notebook 20 times,
 * jupyter-console driven through tmux, and headless Chromium rendering nbconvert's HTML.
 *
 * The kernelspec goes into a temporary prefix; JUPYTER_PATH, JUPYTER_DATA_DIR,
 * JUPYTER_RUNTIME_DIR, JUPYTER_CONFIG_DIR and IPYTHONDIR point at temporary folders, so
 * nothing is written to the user's own Jupyter folders.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { install } from "../../kernel/install.js";
import { countColour, screenshot } from "../helpers/chromium.js";
import { ROOT, run } from "../helpers/run.js";

const PYTHON = "/usr/bin/python3";
const KERNEL_NAME = "cluelab-test";
let root: string;
let env: Record<string, string>;

function notebook(sources: string[]): object {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: KERNEL_NAME, display_name: "TypeScript (cluelab)", language: "typescript" }, language_info: { name: "typescript" } },
    cells: sources.map((source, i) => ({ cell_type: "code", id: `cell-${i}`, metadata: {}, execution_count: null, source, outputs: [] })),
  };
}

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
  execution_count?: number;
}
interface Cell {
  execution_count: number | null;
  outputs: Output[];
}

const join_ = (text: string | string[] | undefined) => (Array.isArray(text) ? text.join("") : (text ?? ""));

/** A cell's outputs reduced to what must be the same on every run. */
function summary(cell: Cell): string[] {
  const out: string[] = [];
  for (const o of cell.outputs) {
    if (o.output_type === "stream") {
      const last = out.at(-1);
      const text = join_(o.text);
      if (last?.startsWith(`stream:${o.name}:`)) out[out.length - 1] = last + text;
      else out.push(`stream:${o.name}:${text}`);
    } else if (o.output_type === "error") out.push(`error:${o.ename}:${o.evalue}`);
    else {
      const data = o.data ?? {};
      const rich = Object.keys(data).filter((k) => k !== "text/plain").sort();
      out.push(`${o.output_type}:${rich.map((k) => `${k}=${join_(data[k])}`).join(",") || join_(data["text/plain"])}`);
    }
  }
  return out;
}

const MIXED = [
  'console.log("line 1");\nconsole.error("warn 1");\n1 + 1',
  'import { display, html, md, clearOutput } from "cluelab/display";\nconst h = display(html("<b>first</b>"), { id: "u1" });\nawait new Promise((r) => setTimeout(r, 20));\nh.update(html("<b>updated</b>"));\n"after update"',
  'throw new TypeError("expected failure");',
  'const n: number = "not a number";',
  'for (let i = 0; i < 3; i++) console.log("tick", i);',
  'console.log("gone");\nclearOutput({ wait: true });\nconsole.log("only this");',
  'md("# heading")',
  'let later = 0;\nsetTimeout(() => { later = 1; }, 10);\nawait new Promise((r) => setTimeout(r, 30));\nlater',
  // An error thrown after its cell finished: in that cell (if it is still finishing), in the next
  // one (if it runs by then), or noted at the start of the next one; never lost.
  'setTimeout(() => { throw new Error("async after its cell"); }, 20);\n"scheduled"',
  'await new Promise((r) => setTimeout(r, 50));\n"waited"',
];

const EXPECTED = [
  ["stream:stdout:line 1\n", "stream:stderr:warn 1\n", "execute_result:2"],
  ["display_data:text/html=<b>updated</b>", "execute_result:'after update'"],
  ["error:TypeError:expected failure"],
  ["error:TSError:line 1, column 7: Type 'string' is not assignable to type 'number'."],
  ["stream:stdout:tick 0\ntick 1\ntick 2\n"],
  ["stream:stdout:only this\n"],
  ["execute_result:text/markdown=# heading"],
  ["execute_result:1"],
  ["execute_result:'scheduled'"],
  ["execute_result:'waited'"],
];

/** Cells whose outputs depend on when a timer fires: checked by `asyncErrorKept`, not compared. */
const TIMED = new Set([8, 9]);

/** The asynchronous error of cell 9 shows in cell 9 or 10, with its message and cell line. */
function asyncErrorKept(cells: Cell[]): boolean {
  const stderr = cells
    .slice(8, 10)
    .flatMap((cell) => cell.outputs)
    .filter((o) => o.output_type === "stream" && o.name === "stderr")
    .map((o) => join_(o.text))
    .join("");
  return /Error: async after its cell\n\s+at Timeout\._onTimeout \(cell \[9\], line 1, column \d+\)/.test(stderr);
}

describe("real Jupyter clients", { timeout: 400_000 }, () => {
  before(() => {
    root = mkdtempSync(join(tmpdir(), "cluelab-clients-"));
    const prefix = join(root, "prefix");
    install({ prefix, name: KERNEL_NAME });
    for (const sub of ["data", "runtime", "config", "ipython", "notebooks"]) mkdirSync(join(root, sub));
    env = {
      JUPYTER_PATH: join(prefix, "share", "jupyter"),
      JUPYTER_DATA_DIR: join(root, "data"),
      JUPYTER_RUNTIME_DIR: join(root, "runtime"),
      JUPYTER_CONFIG_DIR: join(root, "config"),
      IPYTHONDIR: join(root, "ipython"),
      CLUELAB_KERNEL_NAME: KERNEL_NAME,
      PYDEVD_DISABLE_FILE_VALIDATION: "1",
    };
  });

  it("passes the official jupyter_kernel_test suite (only the pager test skips)", async () => {
    const r = await run(PYTHON, ["-m", "pytest", "-q", "-p", "no:cacheprovider", join(ROOT, "test", "kernel", "clients", "test_conformance.py")], {
      cwd: join(root, "notebooks"),
      env,
      timeoutMs: 180_000,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /11 passed, 1 skipped/);
  });

  it("nbconvert --execute runs a notebook of outputs, errors, displays and updates 20 times with nothing lost", async () => {
    const dir = join(root, "notebooks");
    const source = join(dir, "mixed.ipynb");
    writeFileSync(source, JSON.stringify(notebook(MIXED)));
    const runs = 20;
    const parallel = 4;
    const failures: string[] = [];
    for (let start = 0; start < runs; start += parallel) {
      await Promise.all(
        Array.from({ length: Math.min(parallel, runs - start) }, async (_, j) => {
          const i = start + j;
          const output = join(dir, `mixed-out-${i}.ipynb`);
          const execute = () =>
            run(
              "/usr/bin/jupyter",
              ["nbconvert", "--to", "notebook", "--execute", "--allow-errors", `--ExecutePreprocessor.kernel_name=${KERNEL_NAME}`, "--ExecutePreprocessor.timeout=120", "--output", output, source],
              { cwd: dir, env, timeoutMs: 180_000 },
            );
          let r = await execute();
          // jupyter_client picks free ports by binding and releasing them, so clients started in
          // parallel can pick the same one: that start-up failure (not a lost output) gets one retry.
          if (r.code !== 0 && /Address already in use/.test(r.stderr)) r = await execute();
          if (r.code !== 0) {
            failures.push(`run ${i}: nbconvert exited ${r.code}: ${r.stderr.slice(-3000)}`);
            return;
          }
          const cells = (JSON.parse(readFileSync(output, "utf8")) as { cells: Cell[] }).cells;
          const counts = cells.map((c) => c.execution_count);
          if (JSON.stringify(counts) !== JSON.stringify(MIXED.map((_, k) => k + 1))) failures.push(`run ${i}: execution counts ${JSON.stringify(counts)}`);
          cells.forEach((cell, k) => {
            const got = summary(cell);
            const compared = TIMED.has(k) ? got.filter((o) => !o.startsWith("stream:stderr:")) : got;
            if (JSON.stringify(compared) !== JSON.stringify(EXPECTED[k])) failures.push(`run ${i}, cell ${k + 1}: got ${JSON.stringify(got)}`);
          });
          if (!asyncErrorKept(cells)) failures.push(`run ${i}: the asynchronous error of cell 9 is in neither cell 9 nor 10: ${JSON.stringify(cells.slice(8).map(summary))}`);
        }),
      );
    }
    assert.deepEqual(failures, []);
  });

  it("jupyter-console through tmux: Tab completion, a result and an error", async () => {
    const session = `cluelab-${process.pid}-${Date.now()}`;
    const tmux = (...args: string[]) => run("/usr/bin/tmux", args, { env, timeoutMs: 20_000 });
    const screen = async () => (await tmux("capture-pane", "-p", "-t", session)).stdout;
    const waitFor = async (pattern: RegExp, what: string, timeoutMs = 60_000) => {
      for (const end = Date.now() + timeoutMs; Date.now() < end; ) {
        const text = await screen();
        if (pattern.test(text)) return text;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      throw new Error(`jupyter-console never showed ${what}; screen:\n${await screen()}`);
    };
    const exports = Object.entries(env).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ");
    const command = `cd ${JSON.stringify(join(root, "notebooks"))} && env ${exports} /usr/bin/jupyter console --kernel ${KERNEL_NAME} --no-confirm-exit; echo "[console exited $?]"; sleep 120`;
    assert.equal((await tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "50", command)).code, 0);
    /** Types text, waits until the console shows it (its first keystrokes can be lost at start-up), then keys. */
    const type = async (text: string, ...keys: string[]) => {
      for (let attempt = 0; ; attempt++) {
        await tmux("send-keys", "-t", session, "-l", text);
        try {
          await waitFor(new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "\\s*$", "m"), `the typed "${text}"`, 5_000);
          break;
        } catch (error) {
          if (attempt >= 2) throw error;
          await tmux("send-keys", "-t", session, "C-u");
        }
      }
      if (keys.length > 0) await tmux("send-keys", "-t", session, ...keys);
    };
    try {
      await waitFor(/In \[1\]:/, "its first prompt");
      await type("const zzConsoleAlpha = 41", "Enter"); // no ";": tmux reads a trailing one as a command separator
      await waitFor(/In \[2\]:/, "the second prompt");
      await type("zzConsoleAl", "Tab");
      await waitFor(/zzConsoleAlpha\s*$/m, "the completed name");
      await type(" + 1", "Enter");
      await waitFor(/Out\[2\]: 42/, "the result");
      await type("throw new Error('console boom')", "Enter");
      const shown = await waitFor(/Error: console boom\n\s+at cell \[3\], line 1, column 7\n/, "the error");
      assert.doesNotMatch(shown, /node:internal|Worker\.emit/);
      await tmux("send-keys", "-t", session, "C-d");
      // The pane outlives the console (the command ends in a sleep), so its last screen can be read.
      const last = await waitFor(/\[console exited \d+\]/, "its exit");
      assert.match(last, /\[console exited 0\]/);
    } finally {
      await tmux("kill-session", "-t", session);
    }
  });

  it("headless Chromium draws the Plotly figure and the finished progress bar of nbconvert's HTML", async () => {
    const dir = join(root, "notebooks");
    const source = join(dir, "plot.ipynb");
    writeFileSync(
      source,
      JSON.stringify(
        notebook([
          'import { plotly, progress } from "cluelab/display";\nplotly({ data: [{ x: [0, 1, 2, 3], y: [1, 3, 2, 4], mode: "lines", line: { color: "#ff00ff", width: 8 } }], layout: { width: 700, height: 400 } })',
          'const bar = progress(5, { label: "epochs" });\nfor (let i = 0; i < 5; i++) { bar.increment(); await new Promise((r) => setTimeout(r, 5)); }\nbar.done();',
        ]),
      ),
    );
    const executed = join(dir, "plot-executed.ipynb");
    const r = await run("/usr/bin/jupyter", ["nbconvert", "--to", "notebook", "--execute", `--ExecutePreprocessor.kernel_name=${KERNEL_NAME}`, "--output", executed, source], { cwd: dir, env, timeoutMs: 180_000 });
    assert.equal(r.code, 0, r.stderr);
    const html = await run("/usr/bin/jupyter", ["nbconvert", "--to", "html", executed, "--output-dir", dir], { cwd: dir, env, timeoutMs: 120_000 });
    assert.equal(html.code, 0, html.stderr);
    const png = await screenshot(join(dir, "plot-executed.html"), 1000, 1400, root);
    const magenta = countColour(png, [255, 0, 255]);
    const green = countColour(png, [0x4c, 0xaf, 0x50]);
    assert.ok(magenta > 1000, `the figure's magenta trace is drawn (${magenta} pixels)`);
    assert.ok(green > 1000, `the finished progress bar is drawn (${green} green pixels)`);
  });
});
