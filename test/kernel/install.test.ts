import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, it } from "node:test";
import { CLI_SCRIPT, install, specDirectory, uninstall } from "../../kernel/install.js";
import { CLI, run } from "../helpers/run.js";

const temp = () => mkdtempSync(join(tmpdir(), "cluelab-spec-"));

describe("kernelspec install", () => {
  it("writes kernel.json and logos under PREFIX/share/jupyter/kernels/NAME, as Jupyter's tools do", () => {
    const prefix = temp();
    const { directory, spec } = install({ prefix });
    assert.equal(directory, join(prefix, "share", "jupyter", "kernels", "cluelab"));
    const written = JSON.parse(readFileSync(join(directory, "kernel.json"), "utf8"));
    assert.deepEqual(written, spec);
    assert.deepEqual(written.argv, [process.execPath, CLI_SCRIPT, "kernel", "--connection-file", "{connection_file}"]);
    assert.equal(written.display_name, "TypeScript (cluelab)");
    assert.equal(written.language, "typescript");
    assert.equal(written.interrupt_mode, "message");
    assert.ok(existsSync(CLI_SCRIPT), "argv points at the built CLI");
    assert.deepEqual(readdirSync(directory).sort(), ["kernel.json", "logo-32x32.png", "logo-64x64.png", "logo-svg.svg"]);
    assert.deepEqual([...readFileSync(join(directory, "logo-64x64.png")).subarray(1, 4)], [0x50, 0x4e, 0x47], "a real PNG");
  });

  it("installs per user into the Jupyter data folder, with a custom name and display name", () => {
    const data = temp();
    const { directory, spec } = install({ user: true, name: "ts-lab", displayName: "My TS", env: { JUPYTER_DATA_DIR: data } });
    assert.equal(directory, join(data, "kernels", "ts-lab"));
    assert.equal(spec.display_name, "My TS");
    assert.equal(uninstall({ name: "ts-lab", env: { JUPYTER_DATA_DIR: data } }), directory);
    assert.ok(!existsSync(directory));
  });

  it("rejects bad names, both --user and --prefix, and uninstalling what is not there", () => {
    assert.throws(() => specDirectory({ name: "bad name!" }), /invalid kernel name "bad name!"/);
    assert.throws(() => specDirectory({ user: true, prefix: "/x" }), /either --user or --prefix/);
    assert.throws(() => uninstall({ prefix: temp() }), /no kernelspec at/);
  });

  it("is wired into the CLI: install, uninstall, and kernel needs a connection file", async () => {
    const prefix = temp();
    const installed = await run(process.execPath, [CLI, "install", "--prefix", prefix, "--name", "clitest", "--display-name", "CLI test"]);
    assert.equal(installed.code, 0, installed.stderr);
    assert.match(installed.stdout, /installed kernelspec "clitest" \(CLI test\)/);
    assert.ok(existsSync(join(prefix, "share", "jupyter", "kernels", "clitest", "kernel.json")));
    const removed = await run(process.execPath, [CLI, "uninstall", "--prefix", prefix, "--name", "clitest"]);
    assert.equal(removed.code, 0, removed.stderr);
    const again = await run(process.execPath, [CLI, "uninstall", "--prefix", prefix, "--name", "clitest"]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no kernelspec at/);
    const kernel = await run(process.execPath, [CLI, "kernel"]);
    assert.equal(kernel.code, 1);
    assert.match(kernel.stderr, /--connection-file/);
    const missing = await run(process.execPath, [CLI, "kernel", "--connection-file", join(prefix, "nope.json")], { timeoutMs: 20_000 });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /cannot read the connection file/);
  });

  it("loads no subcommand's heavy dependencies at start-up: `cluelab --help` resolves commander, not TensorFlow.js", async () => {
    // A module resolve hook logs every module the CLI resolves; `--help` imports every command module.
    const dir = temp();
    const hooks = join(dir, "hooks.mjs");
    const register = join(dir, "register.mjs");
    writeFileSync(
      hooks,
      'import { writeSync } from "node:fs";\n' +
        "export async function resolve(specifier, context, next) {\n" +
        "  const result = await next(specifier, context);\n" +
        '  writeSync(2, "resolved " + result.url + "\\n");\n' +
        "  return result;\n}\n",
    );
    writeFileSync(register, `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    const help = await run(process.execPath, ["--import", register, CLI, "--help"]);
    assert.equal(help.code, 0, help.stderr);
    const resolved = help.stderr.split("\n").filter((line) => line.startsWith("resolved "));
    assert.ok(resolved.some((line) => line.includes("/commander/")), `the hook sees the CLI's imports:\n${help.stderr}`);
    assert.deepEqual(resolved.filter((line) => /@tensorflow|dist\/lib\/(index|engine\/index|data\/index)\.js/.test(line)), []);
    for (const command of ["doctor", "demo", "data", "install", "uninstall", "kernel"]) assert.match(help.stdout, new RegExp(`^\\s+${command}\\b`, "m"));
  });
});
