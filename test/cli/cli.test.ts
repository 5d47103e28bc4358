import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CLI, run } from "../helpers/run.js";

const cluelab = (args: string[], env: Record<string, string | undefined> = {}) =>
  run(process.execPath, [CLI, ...args], { env: { CLUELAB_BACKEND: undefined, ...env } });

describe("cluelab CLI", () => {
  it("--help lists the subcommands", async () => {
    const r = await cluelab(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: cluelab/);
    assert.match(r.stdout, /doctor/);
    assert.match(r.stdout, /demo/);
  });

  for (const sub of ["doctor", "demo"]) {
    it(`${sub} --help describes its options`, async () => {
      const r = await cluelab([sub, "--help"]);
      assert.equal(r.code, 0);
      assert.match(r.stdout, new RegExp(`Usage: cluelab ${sub}`));
      assert.match(r.stdout, /--/);
    });
  }

  it("an unknown command is an error that suggests the right one", async () => {
    const r = await cluelab(["doctr"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown command 'doctr'/);
    assert.match(r.stderr, /Did you mean doctor\?/);
  });

  it("an unknown flag is an error that suggests the flag and names the subcommand's help", async () => {
    const r = await cluelab(["doctor", "--jsn"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown option '--jsn'/);
    assert.match(r.stderr, /Did you mean --json\?/);
    assert.match(r.stderr, /run `cluelab doctor --help` for its options/);
    const nested = await cluelab(["data", "download", "--dri", "x"]);
    assert.match(nested.stderr, /run `cluelab data download --help` for its options/);
  });

  it("a bad option value is an error naming what was expected", async () => {
    const r = await cluelab(["demo", "--epochs", "two"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /expected a positive integer, got "two"/);
    const b = await cluelab(["demo", "--backend", "cuda"]);
    assert.equal(b.code, 1);
    assert.match(b.stderr, /expected one of tensorflow, webgpu, native, wasm, cpu, got "cuda"/);
  });

  it("doctor --json names every backend and the selected one", async () => {
    const r = await cluelab(["doctor", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.selected, "native");
    assert.deepEqual(report.backends.map((b: { name: string }) => b.name), ["tensorflow", "webgpu", "native", "wasm", "cpu"]);
    const byName = Object.fromEntries(report.backends.map((b: { name: string }) => [b.name, b]));
    assert.equal(byName.tensorflow.loaded, false);
    assert.match(byName.tensorflow.reason, /not installed/);
    assert.equal(byName.webgpu.loaded, true);
    assert.equal(byName.webgpu.software, true, "this machine has no GPU: the adapter is llvmpipe");
    assert.equal(byName.native.loaded, true);
    assert.match(byName.native.device, /oneDNN/);
    assert.equal(byName.wasm.details.simd, true);
    assert.equal(byName.cpu.loaded, true);
    assert.equal(report.versions["tfjs-core"], "4.22.0");
  });

  it("doctor says why the native backend is missing and selects wasm instead", async () => {
    const r = await cluelab(["doctor", "--json"], { CLUELAB_NATIVE_ADDON: "/nonexistent/cluelab-native.node" });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.selected, "wasm");
    const native = report.backends.find((b: { name: string }) => b.name === "native");
    assert.equal(native.loaded, false);
    assert.match(native.reason, /does not exist/);
  });

  it("doctor with a bad CLUELAB_BACKEND reports it and exits 1", async () => {
    const r = await cluelab(["doctor"], { CLUELAB_BACKEND: "gpu" });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /selected {2}none/);
    assert.match(r.stdout, /CLUELAB_BACKEND="gpu" is not a backend cluelab knows/);
  });

  it("demo trains on real Fashion-MNIST and reports what it did", async () => {
    const r = await cluelab(["demo", "--images", "512", "--epochs", "2", "--batch", "64"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /backend {3}native/);
    assert.match(r.stdout, /512 training and 2000 test images from \/usr\/share\/datasets\/fashion-mnist/);
    const accuracy = Number(/test accuracy ([\d.]+)%/.exec(r.stdout)?.[1]);
    // 10 classes: chance is 10 %; two short epochs on 512 images already get well past it.
    assert.ok(accuracy > 40, `test accuracy ${accuracy}% is not above chance`);
  });
});
