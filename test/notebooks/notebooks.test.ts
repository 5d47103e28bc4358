/**
 * The curated notebooks, executed end to end in quick mode (CLUELAB_QUICK=1) by a real Jupyter
 * client (nbclient through `jupyter nbconvert --execute`) on the cluelab kernel, via
 * scripts/run-notebooks.mjs; then their saved outputs are checked.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ROOT, run } from "../helpers/run.js";

interface Output {
  output_type: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}
interface Notebook {
  cells: Array<{ cell_type: string; outputs?: Output[]; execution_count?: number | null }>;
}

const joined = (v: unknown) => (Array.isArray(v) ? v.join("") : String(v ?? ""));
/** Every text a notebook's outputs show (streams and text/plain), in order. */
const texts = (nb: Notebook) => nb.cells.flatMap((c) => (c.outputs ?? []).map((o) => joined(o.text ?? o.data?.["text/plain"]))).join("\n");
const mimes = (nb: Notebook) => nb.cells.flatMap((c) => (c.outputs ?? []).flatMap((o) => Object.keys(o.data ?? {})));

let out: string;
let summary: { notebooks: Array<{ name: string; ok: boolean; seconds: number }>; total: number };
const notebooks = new Map<string, Notebook>();

before(async () => {
  out = await mkdtemp(join(tmpdir(), "cluelab-nbtest-"));
  const json = join(out, "summary.json");
  const result = await run(process.execPath, [join(ROOT, "scripts", "run-notebooks.mjs"), "--quick", "--out", join(out, "run"), "--json", json], { timeoutMs: 900_000 });
  assert.equal(result.code, 0, `notebooks failed:\n${result.stdout}\n${result.stderr}`);
  summary = JSON.parse(await readFile(json, "utf8")) as typeof summary;
  for (const n of summary.notebooks) notebooks.set(n.name.slice(0, 2), JSON.parse(await readFile(join(out, "run", n.name), "utf8")) as Notebook);
  process.stdout.write(`# notebook quick-mode wall times: ${summary.notebooks.map((n) => `${n.name} ${n.seconds.toFixed(1)} s`).join(", ")}\n`);
});
after(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

describe("notebooks (quick mode, through nbclient)", () => {
  test("all four ran, every code cell executed without an error", () => {
    assert.deepEqual(summary.notebooks.map((n) => n.name), ["01-training-fmnist.ipynb", "02-cluster-block-tour.ipynb", "03-ablations.ipynb", "04-cluster-maps.ipynb"]);
    for (const [name, nb] of notebooks) {
      for (const cell of nb.cells.filter((c) => c.cell_type === "code")) {
        assert.ok(typeof cell.execution_count === "number", `${name}: a code cell was not executed`);
        const error = cell.outputs?.find((o) => o.output_type === "error");
        assert.equal(error, undefined, `${name}: ${error?.ename}: ${error?.evalue}`);
      }
    }
  });

  test("01 trains with a live Plotly chart and a progress bar, evaluates top-1/top-3, checkpoints and resumes", () => {
    const nb = notebooks.get("01")!;
    const text = texts(nb);
    assert.ok(mimes(nb).includes("application/vnd.plotly.v1+json"), "a Plotly chart");
    assert.match(text, /training 100% \|█+\| 6\/6 .*completed at step 6, 1 epochs done · val top-1 [\d.]+%/);
    assert.match(text, /completed after 6 steps in \d+ s; checkpoint runs\/fmnist-nano\/step-00000006/);
    assert.match(text, /test top-1 [\d.]+%\*\*, top-3 [\d.]+%, loss [\d.]+ on 200 images/);
    assert.match(text, /the run is complete; the restored weights equal the trained model's: true/);
  });

  test("02 reproduces the block's output from its steps, with the model's own cluster map", () => {
    const text = texts(notebooks.get("02")!);
    assert.match(text, /trained weights from runs\/fmnist-nano/, "it found notebook 01's run");
    const difference = Number(/largest difference from the block's own output: \*\*([\d.e+-]+)\*\*/.exec(text)![1]);
    assert.ok(difference < 1e-4, `the step-by-step block differs by ${difference}`);
    assert.match(text, /cluster map equal to the model's trace: \*\*true\*\*/);
    assert.match(text, /tensors alive: 0/);
  });

  test("03 trains every ablation row for both seeds and tabulates mean ± spread", () => {
    const text = texts(notebooks.get("03")!);
    assert.match(text, /all runs finished: 18 trainings/);
    for (const row of ["CLUENet", "hard local aggregation", "no gate", "no assignment sharing", "FEC pool", "strided conv pool", "2×2 clusters", "fixed temperature", "CoC mixer"]) {
      assert.match(text, new RegExp(`${row}\\s.*[\\d.]+ ± [\\d.]+.*2/2`), row);
    }
  });

  test("04 draws the maps, ranks clusters by occlusion and lists raw masks", () => {
    const nb = notebooks.get("04")!;
    const text = texts(nb);
    assert.match(text, /image grid: 36 images 28×28, 9 per row/, "4 stages × (image + 8 heads)");
    assert.match(text, /15 traces — heatmap "stage 0 head 0"/);
    assert.match(text, /rank\s+cluster\s+pixels\s+drop\s+keep\s+score/);
    assert.ok(mimes(nb).filter((m) => m === "image/png").length >= 3);
    assert.match(text, /tensors alive: 0/);
  });
});
