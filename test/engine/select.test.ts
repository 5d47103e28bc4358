import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runModule } from "../helpers/run.js";

// Selection happens once per process, at import: each case is its own Node process.
const importCluelab = `const { tf, engine } = await import("cluelab"); const i = await engine.ready();
console.log(JSON.stringify({ backend: tf.getBackend(), chosenBy: i.chosenBy, x: Array.from(await tf.add(tf.tensor([1, 2]), 1).data()) }));`;

describe("backend selection", () => {
  it("picks native automatically on a machine without GPU or tfjs-node (the addon is built by npm test)", async () => {
    const r = await runModule(importCluelab, { env: { CLUELAB_BACKEND: undefined } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { backend: "native", chosenBy: "automatic", x: [2, 3] });
    assert.doesNotMatch(r.stdout + r.stderr, /Hi, looks like you are running TensorFlow.js in Node.js/);
  });

  it("falls back to wasm when the native addon cannot load", async () => {
    const r = await runModule(importCluelab, { env: { CLUELAB_BACKEND: undefined, CLUELAB_NATIVE_ADDON: "/nonexistent/cluelab-native.node" } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { backend: "wasm", chosenBy: "automatic", x: [2, 3] });
  });

  it("falls back to wasm without a word when no addon was built, and warns when one is there but does not load", async () => {
    const missing = await runModule(importCluelab, { env: { CLUELAB_BACKEND: undefined, CLUELAB_NATIVE_ADDON: "/nonexistent/cluelab-native.node" } });
    assert.doesNotMatch(missing.stderr, /CLUELAB_NATIVE_SKIPPED/);
    // A file that is not a shared library stands for a broken build.
    const dir = await mkdtemp(join(tmpdir(), "cluelab-broken-addon-"));
    const path = join(dir, "cluelab-native.node");
    await writeFile(path, "not an ELF file");
    const broken = await runModule(importCluelab, { env: { CLUELAB_BACKEND: undefined, CLUELAB_NATIVE_ADDON: path } });
    await rm(dir, { recursive: true, force: true });
    assert.equal(broken.code, 0, broken.stderr);
    assert.equal(JSON.parse(broken.stdout).backend, "wasm");
    assert.match(broken.stderr, /CLUELAB_NATIVE_SKIPPED.*the native backend was passed over: .*Computing on wasm instead/);
  });

  it("CLUELAB_BACKEND=native without a loadable addon is an error with the reason", async () => {
    const r = await runModule(importCluelab, { env: { CLUELAB_BACKEND: "native", CLUELAB_NATIVE_ADDON: "/nonexistent/cluelab-native.node" } });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /CLUELAB_BACKEND=native but it cannot load: CLUELAB_NATIVE_ADDON=\/nonexistent\/cluelab-native.node does not exist/);
  });

  it("CLUELAB_BACKEND=cpu forces cpu", async () => {
    const r = await runModule(importCluelab, { env: { CLUELAB_BACKEND: "cpu" } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { backend: "cpu", chosenBy: "CLUELAB_BACKEND", x: [2, 3] });
  });

  it("CLUELAB_BACKEND=webgpu runs on the software adapter when there is no GPU", async () => {
    const r = await runModule(importCluelab, { env: { CLUELAB_BACKEND: "webgpu" } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { backend: "webgpu", chosenBy: "CLUELAB_BACKEND", x: [2, 3] });
  });

  it("an unknown CLUELAB_BACKEND fails the import, naming the choices", async () => {
    const r = await runModule(importCluelab, { env: { CLUELAB_BACKEND: "cuda" } });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /CLUELAB_BACKEND="cuda" is not a backend cluelab knows\. Use one of tensorflow, webgpu, native, wasm, cpu/);
  });

  it("a named backend that cannot load is an error with its reason, not a fallback", async () => {
    const r = await runModule(importCluelab, { env: { CLUELAB_BACKEND: "tensorflow" } });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /CLUELAB_BACKEND=tensorflow but it cannot load: .*@tensorflow\/tfjs-node is not installed/);
  });

  it("CLUELAB_WEBGPU_ADAPTER=hardware keeps the software adapter out", async () => {
    const r = await runModule(importCluelab, { env: { CLUELAB_BACKEND: "webgpu", CLUELAB_WEBGPU_ADAPTER: "hardware" } });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /CLUELAB_BACKEND=webgpu but it cannot load: no GPU device here/);
  });
});
