import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ROOT, run } from "../helpers/run.js";

// The package as users get it: `npm pack`, installed into an empty folder, used from there.
describe("the packed tarball", { timeout: 600_000 }, () => {
  let dir: string;
  let tarball: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "cluelab-pack-"));
    // dist/ is already built by `npm test`; rebuilding here would race the other test files.
    const packed = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: ROOT });
    assert.equal(packed.code, 0, packed.stderr);
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(dir, info!.filename);
    const paths = info!.files.map((f) => f.path);
    assert.ok(paths.includes("dist/lib/index.js") && paths.includes("dist/cli/main.js") && paths.includes("LICENSE"));
    assert.ok(!paths.some((p) => p.startsWith("dist/test/") || p.startsWith("test/")), "tests are not shipped");
    await writeFile(join(dir, "package.json"), JSON.stringify({ name: "fresh", private: true, type: "module" }));
    const installed = await run("npm", ["install", tarball, "--prefer-offline", "--no-audit", "--no-fund"], { cwd: dir, timeoutMs: 540_000 });
    assert.equal(installed.code, 0, installed.stderr);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("installs the cluelab command, on native where npm ran the install step's build and wasm where not", async () => {
    const r = await run(join(dir, "node_modules/.bin/cluelab"), ["doctor", "--json"], { cwd: dir, env: { CLUELAB_BACKEND: undefined } });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    const native = report.backends.find((b: { name: string }) => b.name === "native");
    // npm 11 skips a dependency's install script unless the project allows it; npm 10 runs it.
    assert.equal(report.selected, native.loaded ? "native" : "wasm");
    if (!native.loaded) assert.match(native.reason, /build-native/, "doctor says how to build it");
  });

  it("builds the native backend from the installed package with `cluelab build-native`", async () => {
    const built = await run(join(dir, "node_modules/.bin/cluelab"), ["build-native"], { cwd: dir, timeoutMs: 300_000 });
    assert.equal(built.code, 0, built.stderr);
    const r = await run(join(dir, "node_modules/.bin/cluelab"), ["doctor", "--json"], { cwd: dir, env: { CLUELAB_BACKEND: undefined } });
    assert.equal(JSON.parse(r.stdout).selected, "native");
  });

  it("serves the library and cluelab/display from the installed copy, with one TensorFlow.js", async () => {
    await writeFile(
      join(dir, "use.mjs"),
      `import { tf, engine } from "cluelab";
       import { display, JUPYTER_DISPLAY } from "cluelab/display";
       import { createRequire } from "node:module";
       const info = await engine.ready();
       const y = tf.matMul(tf.ones([2, 3]), tf.ones([3, 2]));
       await display({ [JUPYTER_DISPLAY]: () => ({ "text/plain": "shown " + info.backend }) });
       const tfjsCopies = createRequire(import.meta.url).resolve("@tensorflow/tfjs-core");
       console.log(JSON.stringify({ y: Array.from(await y.data()), tfjsCopies }));`,
    );
    const r = await run(process.execPath, ["use.mjs"], { cwd: dir, env: { CLUELAB_BACKEND: undefined } });
    assert.equal(r.code, 0, r.stderr);
    const [shown, json] = r.stdout.trim().split("\n");
    assert.equal(shown, "shown native");
    const parsed = JSON.parse(json!);
    assert.deepEqual(parsed.y, [3, 3, 3, 3]);
    assert.ok(parsed.tfjsCopies.startsWith(join(dir, "node_modules")));
    const nested = await readdir(join(dir, "node_modules/cluelab")).then((e) => e.includes("node_modules"));
    assert.ok(!nested, "cluelab must not carry its own nested TensorFlow.js copy");
  });
});
