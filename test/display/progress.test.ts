import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { afterEach, beforeEach, describe, it } from "node:test";
import { progress, PROGRESS_REDRAWS_PER_SECOND, type DisplayRequest } from "../../lib/display/index.js";
import { runModule } from "../helpers/run.js";
import { FakeKernel, notebookOutputs, type Event } from "./recording.js";

// ipywidgets' own specification of every core model (ipywidgets 8: @jupyter-widgets/controls and
// base 2.0.0), published by the project as @jupyter-widgets/schema: the oracle for our messages.
interface SpecAttribute {
  name: string;
  type: string | string[];
  default: unknown;
  widget?: string;
  enum?: unknown[];
  allow_none?: boolean;
  items?: { type: string; widget?: string };
}
interface SpecModel {
  model: { module: string; name: string; version: string };
  view: { module: string; name: string; version: string } | null;
  attributes: SpecAttribute[];
}
const require = createRequire(import.meta.url);
const SPEC = require("@jupyter-widgets/schema/jupyterwidgetmodels.latest.json") as SpecModel[];
const VIEW_SCHEMA = require("@jupyter-widgets/schema/v2/view.schema.json") as { required: string[]; properties: Record<string, { type: string; minimum?: number; maximum?: number }> };

type Opened = Extract<Event, { kind: "comm_open" }>;

/** Checks one comm_open against the widget protocol and the model's specification. */
function checkAgainstSpec(open: Opened, opened: Map<string, Opened>): void {
  assert.equal(open.targetName, "jupyter.widget");
  assert.deepEqual(open.metadata, { version: "2.1.0" });
  assert.deepEqual(open.data["buffer_paths"], []);
  const state = open.data["state"] as Record<string, unknown>;
  const spec = SPEC.find((m) => m.model.name === state["_model_name"] && m.model.module === state["_model_module"]);
  assert.ok(spec, `no model ${String(state["_model_module"])}/${String(state["_model_name"])} in ipywidgets' specification`);
  assert.equal(state["_model_module_version"], spec.model.version);
  assert.equal(state["_view_name"], spec.view?.name ?? null);
  assert.equal(state["_view_module"], spec.view?.module ?? state["_view_module"]);
  assert.equal(state["_view_module_version"], spec.view?.version ?? state["_view_module_version"]);
  for (const [key, value] of Object.entries(state)) {
    const attr: SpecAttribute | undefined = spec.attributes.find((a) => a.name === key);
    assert.ok(attr, `${spec.model.name} has no attribute ${key}`);
    if (value === null) {
      assert.ok(attr.allow_none, `${spec.model.name}.${key} may not be null`);
      continue;
    }
    if (attr.enum) assert.ok(attr.enum.includes(value), `${spec.model.name}.${key} = ${String(value)} is not one of ${attr.enum.join("|")}`);
    const types = Array.isArray(attr.type) ? attr.type : [attr.type];
    const ok = types.some((t: string) => {
      if (t === "int") return Number.isInteger(value);
      if (t === "float") return typeof value === "number";
      if (t === "string") return typeof value === "string";
      if (t === "bool") return typeof value === "boolean";
      if (t === "array") return Array.isArray(value);
      if (t === "reference") return typeof value === "string" && value.startsWith("IPY_MODEL_");
      return false;
    });
    assert.ok(ok, `${spec.model.name}.${key} = ${JSON.stringify(value)} is not of type ${types.join("|")}`);
    const refs = attr.type === "reference" ? [value] : attr.type === "array" && attr.items?.type === "reference" ? (value as unknown[]) : [];
    for (const ref of refs) {
      const target = opened.get(String(ref).slice("IPY_MODEL_".length));
      assert.ok(target, `${spec.model.name}.${key} refers to ${String(ref)}, which was not opened before`);
      const widget: string | undefined = attr.widget ?? attr.items?.widget;
      const targetName = (target.data["state"] as Record<string, unknown>)["_model_name"];
      if (widget && widget !== "Widget") assert.equal(targetName, `${widget}Model`, `${spec.model.name}.${key}`);
    }
  }
}

function checkView(view: unknown): void {
  assert.ok(view !== null && typeof view === "object");
  const v = view as Record<string, unknown>;
  for (const key of VIEW_SCHEMA.required) assert.ok(key in v, `widget view lacks ${key}`);
  for (const [key, value] of Object.entries(v)) {
    const prop = VIEW_SCHEMA.properties[key];
    assert.ok(prop, `widget view has unknown key ${key}`);
    assert.equal(typeof value, prop.type);
    if (prop.minimum !== undefined) assert.ok((value as number) >= prop.minimum && (value as number) <= prop.maximum!);
  }
}

/** The data of the last comm message sent. */
function lastCommData(events: readonly Event[]): Record<string, unknown> {
  const last = events.at(-1);
  assert.ok(last?.kind === "comm_msg", `expected a comm message, got ${last?.kind}`);
  return last.data;
}

const opens = (events: readonly Event[]) => events.filter((e): e is Opened => e.kind === "comm_open");
const updatesOf = (displays: readonly DisplayRequest[]) => displays.filter((d) => d.update);

describe("progress in a kernel with comms", () => {
  let kernel: FakeKernel;
  beforeEach(() => (kernel = new FakeKernel()));
  afterEach(() => kernel.uninstall());

  it("opens an ipywidgets IntProgress that matches ipywidgets 8's specification, shown with an HTML fallback", () => {
    progress(200, { label: "epoch 1" });
    const opened = new Map<string, Opened>();
    for (const open of opens(kernel.sink.events)) {
      checkAgainstSpec(open, opened);
      opened.set(open.commId, open);
    }
    const names = [...opened.values()].map((o) => (o.data["state"] as Record<string, unknown>)["_model_name"]);
    assert.deepEqual(names, ["LayoutModel", "ProgressStyleModel", "IntProgressModel", "LayoutModel", "HTMLStyleModel", "HTMLModel", "LayoutModel", "HBoxModel"]);
    const bar = [...opened.values()][2]!.data["state"] as Record<string, unknown>;
    assert.deepEqual([bar["description"], bar["min"], bar["max"], bar["value"]], ["epoch 1", 0, 200, 0]);

    const [shown] = kernel.sink.displays;
    const view = shown!.bundle["application/vnd.jupyter.widget-view+json"] as { model_id: string };
    checkView(view);
    assert.deepEqual(view, { model_id: view.model_id, version_major: 2, version_minor: 0 });
    assert.equal((opened.get(view.model_id)!.data["state"] as Record<string, unknown>)["_model_name"], "HBoxModel");
    assert.match(shown!.bundle["text/html"] as string, /class="cluelab-progress".*epoch 1.*width:0\.0%.*0\/200/);
    assert.match(shown!.bundle["text/plain"], /^epoch 1   0% \| {24}\| 0\/200 \[00:00<\?\]$/);
    // the widget's messages come before the display that shows it
    assert.ok(kernel.sink.events.findIndex((e) => e.kind === "display") > kernel.sink.events.findLastIndex((e) => e.kind === "comm_open"));
  });

  it("throttles: a tight loop sends one redraw at once and the last state shortly after", async () => {
    const bar = progress(1_000_000);
    const before = kernel.sink.events.length;
    const start = performance.now();
    for (let i = 0; i < 99_999; i++) bar.increment();
    const allowed = 1 + Math.floor((performance.now() - start) / (1000 / PROGRESS_REDRAWS_PER_SECOND));
    const during = kernel.sink.events.slice(before);
    const redraws = updatesOf(during.flatMap((e) => (e.kind === "display" ? [e.request] : []))).length;
    assert.ok(redraws >= 1 && redraws <= allowed, `${redraws} redraws for 99,999 updates (at most ${allowed} for the time taken)`);
    assert.ok(during.filter((e) => e.kind === "comm_msg").length <= 2 * allowed);
    assert.ok(kernel.sink.held.length >= 1, "the trailing redraw holds the cell open");
    await kernel.sink.settle();
    const last = kernel.sink.displays.at(-1)!;
    assert.match(last.bundle["text/plain"], /99999\/1000000/);
    const barModel = opens(kernel.sink.events)[2]!.commId;
    const barUpdates = kernel.sink.events.filter((e) => e.kind === "comm_msg" && e.commId === barModel);
    assert.deepEqual(barUpdates.at(-1), { kind: "comm_msg", commId: barModel, data: { method: "update", state: { value: 99_999 }, buffer_paths: [] } });
    assert.equal(PROGRESS_REDRAWS_PER_SECOND, 10);
  });

  it("a synchronous loop that never yields is still redrawn about ten times a second", () => {
    const bar = progress(1e9, { widget: false });
    const start = performance.now();
    while (performance.now() - start < 450) bar.increment();
    const redraws = kernel.sink.displays.filter((d) => d.update).length;
    assert.ok(redraws >= 3 && redraws <= 6, `${redraws} redraws in 450 ms`);
    bar.done();
  });

  it("reaching total draws the final state at once: plain HTML that the saved notebook keeps, widget closed after", () => {
    const bar = progress(3, { label: "eval" });
    bar.increment();
    bar.increment(2, "acc 0.91");
    const events = kernel.sink.events;
    const final = kernel.sink.displays.at(-1)!;
    assert.equal(final.bundle["application/vnd.jupyter.widget-view+json"], undefined);
    assert.match(final.bundle["text/html"] as string, /width:100\.0%;height:100%;background:#4caf50.*3\/3 \[00:00.*\] acc 0\.91/);
    assert.match(final.bundle["text/plain"], /^eval 100% \|█{24}\| 3\/3 \[00:00.*\] acc 0\.91$/);
    const finalIndex = events.findLastIndex((e) => e.kind === "display");
    const closes = events.map((e, i) => [e, i] as const).filter(([e]) => e.kind === "comm_close");
    assert.equal(closes.length, 8, "every model is closed");
    assert.ok(closes.every(([, i]) => i > finalIndex), "models close only after the output stopped showing them");
    const barModel = opens(events)[2]!.commId;
    assert.ok(events.some((e) => e.kind === "comm_msg" && e.commId === barModel && (e.data["state"] as Record<string, unknown>)["bar_style"] === "success"));
    const saved = notebookOutputs(events);
    assert.equal(saved.length, 1);
    assert.deepEqual(Object.keys(saved[0]!.data).sort(), ["text/html", "text/plain"]);
    assert.equal(kernel.sink.held.length, 0, "nothing pending after the final state");

    // going past the total is shown (as HTML only), done() ends the bar, updates after it are errors
    const sent = events.length;
    bar.update(4);
    bar.done();
    assert.ok(events.slice(sent).every((e) => e.kind === "display"), "no more widget traffic");
    assert.match(kernel.sink.displays.at(-1)!.bundle["text/plain"], /4\/3 \[/);
    assert.throws(() => bar.update(1), /progress "eval": update\(\) after done\(\)/);
    bar.done(); // harmless
  });

  it("done() before total ends as stopped; interrupting the cell ends as interrupted", () => {
    const a = progress(10);
    a.update(4);
    a.done("early stop");
    assert.match(kernel.sink.displays.at(-1)!.bundle["text/plain"], /4\/10 \[00:00.*\] stopped early stop$/);
    assert.match(kernel.sink.displays.at(-1)!.bundle["text/html"] as string, /background:#ff9800/);

    const b = progress(10, { label: "train" });
    b.update(7);
    kernel.cell.abort();
    const last = kernel.sink.displays.at(-1)!;
    assert.match(last.bundle["text/plain"], /^train  70% .* 7\/10 \[00:00.*\] interrupted$/);
    assert.match(last.bundle["text/html"] as string, /background:#f44336/);
    b.update(8); // the loop's last step after the interrupt is ignored, not an error
    assert.equal(kernel.sink.displays.at(-1), last);
  });

  it("answers request_state and the control comm's request_states with the full state", () => {
    const bar = progress(5);
    bar.update(2);
    const barModel = opens(kernel.sink.events)[2]!.commId;
    kernel.comms.comms.get(barModel)!.receive({ method: "request_state" });
    const state = lastCommData(kernel.sink.events)["state"] as Record<string, unknown>;
    assert.equal(state["_model_name"], "IntProgressModel");
    assert.equal(state["value"], 2);

    const control = kernel.comms.frontendOpens("jupyter.widget.control");
    assert.ok(control, "the jupyter.widget.control target is registered");
    control.receive({ method: "request_states" });
    const states = lastCommData(kernel.sink.events) as { method: string; states: Record<string, Record<string, unknown>> };
    assert.equal(states.method, "update_states");
    assert.equal(Object.keys(states.states).length, 8);
    assert.equal(states.states[barModel]!["value"], 2);
    bar.done();
    control.receive({ method: "request_states" });
    assert.deepEqual(lastCommData(kernel.sink.events)["states"], {}, "closed models are forgotten");
  });

  it("widget: false, or an empty total, shows the HTML bar alone", () => {
    progress(4, { widget: false }).update(1);
    progress(0, { label: "nothing to do" });
    assert.equal(opens(kernel.sink.events).length, 0);
    assert.match(kernel.sink.displays.at(-1)!.bundle["text/plain"], /^nothing to do 100% \|█{24}\| 0\/0/);
    assert.ok(kernel.sink.displays.every((d) => !("application/vnd.jupyter.widget-view+json" in d.bundle)));
  });

  it("bad input gets clear errors", () => {
    assert.throws(() => progress(-1), /total must be a finite number ≥ 0/);
    assert.throws(() => progress(NaN), /total must be a finite number ≥ 0/);
    assert.throws(() => progress(3, { label: 5 as never }), /label must be a string/);
    const bar = progress(3, { widget: false });
    assert.throws(() => bar.update("2" as never), /value must be a finite number, got '2'/);
    assert.throws(() => bar.increment(Infinity), /increment must be a finite number/);
    assert.equal(bar.value, 0);
  });
});

describe("progress outside a kernel", () => {
  it("writes a text line to stderr and ends with the final state", async () => {
    const r = await runModule(
      `import { progress } from "./dist/lib/display/index.js";
       const bar = progress(3, { label: "files" });
       bar.increment(); bar.increment(); bar.increment(1, "ok"); bar.done();`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    const lines = r.stderr.trimEnd().split("\n");
    assert.match(lines[0]!, /^files   0% \| +\| 0\/3 \[00:00<\?\]$/);
    assert.match(lines.at(-1)!, /^files 100% \|█{24}\| 3\/3 \[00:00(, [\d.]+\/s)?\] ok$/);
    assert.equal(lines.length, 2, "a non-terminal gets the first line and the final one, once");
  });

  it("a script that never calls done() still exits", async () => {
    const r = await runModule(`import { progress } from "./dist/lib/display/index.js"; const b = progress(10); for (let i = 0; i < 5; i++) b.increment();`, { timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stderr);
  });
});
