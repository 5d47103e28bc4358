/**
 * The real kernel process over real ZeroMQ sockets, driven by the test client in
 * helpers/client.ts: execution semantics, the same-realm guarantee with a real package in the
 * notebook's node_modules, interrupts, stdin, comms, ordering and bad input.
 */
import assert from "node:assert/strict";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { encode as encodePng } from "fast-png";
import { DELIMITER } from "../../kernel/wire/codec.js";
import { ROOT } from "../helpers/run.js";
import { ofType, resultText, streams, TestKernel } from "./helpers/client.js";
import { notebookFolder } from "./helpers/notebook.js";

let kernel: TestKernel;

const result = resultText;
const expectOk = (code: string, content: Record<string, unknown> = {}) => kernel.executeOk(code, content);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Interrupts once the cell printed `marker` (so the interrupt cannot overtake a slow start), then waits `ms`. */
async function interruptAfter(marker: string, ms: number, how: "message" | "SIGINT"): Promise<void> {
  await kernel.waitForStdout(marker);
  await new Promise((resolve) => setTimeout(resolve, ms));
  if (how === "SIGINT") kernel.process.kill("SIGINT");
  else {
    const reply = await kernel.request("control", "interrupt_request", {});
    assert.equal(reply.content.status, "ok");
    await kernel.collect(reply.parent_header.msg_id as string);
  }
}

describe("kernel over ZeroMQ", () => {
  before(async () => {
    const directory = notebookFolder();
    // A real TensorFlow.js in the notebook's node_modules (linked, as pnpm would), for the realm test.
    symlinkSync(join(ROOT, "node_modules", "@tensorflow"), join(directory, "node_modules", "@tensorflow"), "dir");
    // A short interrupt grace keeps the hard-stop tests fast (the default, 3 s, lets a training step finish).
    kernel = await TestKernel.start({ directory, env: { CLUELAB_INTERRUPT_GRACE_MS: "500" } });
  });
  after(async () => {
    assert.deepEqual(kernel.lateMessages().map((m) => m.header.msg_type), [], "no message of a request after its idle");
    await kernel.shutdown();
    assert.equal(kernel.process.exitCode, 0, kernel.stderr.join(""));
    assert.doesNotMatch(kernel.stderr.join(""), /Waiting for the debugger/);
  });

  it("runs a cell: streams in order, then the result as Node prints it, without colours", async () => {
    const r = await expectOk("console.log('out 1');\nconsole.error('err 1');\nprocess.stdout.write('out 2\\n');\n'a' + 'b'");
    assert.deepEqual(
      r.iopub.map((m) => m.header.msg_type),
      ["status", "execute_input", "stream", "stream", "stream", "execute_result", "status"],
    );
    assert.deepEqual(streams(r.outputs), { stdout: "out 1\nout 2\n", stderr: "err 1\n" });
    assert.equal(result(r.outputs), "'ab'");
    assert.equal(result((await expectOk("({ a: [1, 2], s: 'x' })")).outputs), "{ a: [ 1, 2 ], s: 'x' }");
    assert.equal(ofType((await expectOk("const nothing = undefined;\nnothing")).outputs, "execute_result").length, 0);
  });

  it("keeps variables across cells; const, let, class and functions may be declared again", async () => {
    await expectOk("const v = 1;\nlet w = 2;\nclass K { n = 1 }\nfunction f() { return v + w }");
    assert.equal(result((await expectOk("w = 10;\nf()")).outputs), "11");
    await expectOk("const v = 'again';\nclass K { n = 2 }\nfunction f() { return v }");
    assert.equal(result((await expectOk("[f(), new K().n]")).outputs), "[ 'again', 2 ]");
    assert.equal(result((await expectOk("const total = await Promise.resolve(40) + 2;\ntotal")).outputs), "42");
  });

  it("counts only the names a failed cell really bound, as the runtime does", async () => {
    await expectOk("const keepA = 1;");
    const thrown = await kernel.execute("throw new Error('before declarations');\nconst keepA = 'two';\nconst freshB = 2;\nfunction hoisted() { return 'hoisted' }");
    assert.equal(thrown.reply.content.evalue, "before declarations");
    const unknown = await kernel.execute("freshB");
    assert.equal(unknown.reply.content.ename, "TSError", "the checker, not the runtime, reports the name that was never bound");
    assert.match(String(unknown.reply.content.evalue), /Cannot find name 'freshB'/);
    assert.equal(result((await expectOk("[keepA.toFixed(1), hoisted()]")).outputs), "[ '1.0', 'hoisted' ]");
    const half = await kernel.execute("const boundFirst = 1;\nthrow new Error('between');\nconst boundNever = 2;");
    assert.equal(half.reply.content.status, "error");
    assert.equal(result((await expectOk("boundFirst")).outputs), "1");
    assert.match(String((await kernel.execute("boundNever")).reply.content.evalue), /Cannot find name 'boundNever'/);
  });

  it("explains what to do when a later cell declares a var or function name with let, const or class", async () => {
    await expectOk("var legacy = 1;");
    const r = await kernel.execute("let legacy = 2;");
    assert.equal(r.reply.content.ename, "SyntaxError");
    assert.match(String(r.reply.content.evalue), /'legacy' was declared with var in cell \[\d+\].*Declare it with var again, assign it \(legacy = …\), or choose another name/);
    assert.equal(result((await expectOk("legacy = 3;\nvar legacy: number = legacy + 1;\nlegacy")).outputs), "4");
  });

  it("stops a cell with a type error before it runs, naming line and column", async () => {
    const r = await kernel.execute("console.log('must not run');\nconst n: number = 'text';");
    assert.equal(r.reply.content.status, "error");
    assert.deepEqual(r.outputs.map((m) => m.header.msg_type), ["execute_input", "error"]);
    assert.equal(r.reply.content.ename, "TSError");
    assert.match(String(r.reply.content.evalue), /^line 2, column 7: Type 'string' is not assignable to type 'number'/);
  });

  it("maps runtime tracebacks to the cell's TypeScript lines", async () => {
    const r = await kernel.execute("interface Unused { a: string }\n\nfunction thrower(): never {\n  throw new RangeError('deep');\n}\nthrower();");
    assert.equal(r.reply.content.status, "error");
    assert.equal(r.reply.content.ename, "RangeError");
    assert.equal(r.reply.content.evalue, "deep");
    const traceback = (r.reply.content.traceback as string[]).join("\n");
    assert.match(traceback, /at thrower \(cell \[\d+\], line 4, column 9\)/);
    assert.doesNotMatch(traceback, /node:inspector|dist\/kernel/);
  });

  it("maps cluelab, cluelab/display and tslab to the kernel's own copies", async () => {
    const r = await expectOk("[import.meta.resolve('cluelab'), import.meta.resolve('cluelab/display'), import.meta.resolve('tslab')]");
    assert.equal(
      result(r.outputs),
      `[\n  '${new URL("dist/lib/index.js", `file://${ROOT}/`).href}',\n  '${new URL("dist/lib/display/index.js", `file://${ROOT}/`).href}',\n  '${new URL("dist/lib/display/tslab.js", `file://${ROOT}/`).href}'\n]`,
    );
  });

  it("imports ESM-only, CommonJS and untyped packages from the notebook's folder, and Node's modules", async () => {
    const r = await expectOk("import { greet, kind } from 'esm-only-pkg';\nimport cjs, { add } from 'cjs-pkg';\nimport untyped from 'untyped-pkg';\nimport { basename } from 'node:path';\n[greet('x'), kind, add(1, 2), cjs.kind, untyped.answer, basename('/a/b')]");
    assert.equal(result(r.outputs), "[ 'hi x', 'esm', 3, 'cjs', 42, 'b' ]");
    assert.match(streams(r.outputs).stderr, /warning TS7016.*untyped-pkg/);
    const missing = await kernel.execute("const dyn = await import('not-installed-anywhere' as string);");
    assert.equal(missing.reply.content.status, "error");
    assert.match(String(missing.reply.content.evalue), /cannot find package "not-installed-anywhere" from the notebook's folder .*npm install not-installed-anywhere/);
  });

  it("runs user code in the libraries' realm: TensorFlow.js accepts a Float32Array made in a cell", async () => {
    const r = await expectOk(
      "import * as tf from '@tensorflow/tfjs-core';\nimport '@tensorflow/tfjs-backend-cpu';\nawait tf.setBackend('cpu');\n" +
        "const t = tf.tensor(new Float32Array([1, 2]));\nconst back = t.dataSync();\n[back instanceof Float32Array, Array.isArray(t.arraySync()), Array.from(back)]",
      {},
    );
    assert.equal(result(r.outputs), "[ true, true, [ 1, 2 ] ]");
    assert.equal(result((await expectOk("tf.dispose(t);\ntf.memory().numTensors")).outputs), "0");
  });

  it("shows values that render themselves, from libraries and from cells", async () => {
    const html = await expectOk("import { html } from 'cluelab/display';\nhtml('<b>rich</b>')");
    assert.equal((ofType(html.outputs, "execute_result")[0]!.content.data as Record<string, unknown>)["text/html"], "<b>rich</b>");
    const own = await expectOk("({ [Symbol.for('Jupyter.display')]() { return { 'text/markdown': '**md**' }; } })");
    const data = ofType(own.outputs, "execute_result")[0]!.content.data as Record<string, unknown>;
    assert.equal(data["text/markdown"], "**md**");
    assert.equal(typeof data["text/plain"], "string");
    const shown = await expectOk("import { display } from 'cluelab/display';\nconst handle = display(html('<i>one</i>'), { id: 'd1' });\nhandle.update(html('<i>two</i>'));");
    assert.deepEqual(shown.outputs.map((m) => m.header.msg_type), ["execute_input", "display_data", "update_display_data"]);
    assert.deepEqual(ofType(shown.outputs, "update_display_data")[0]!.content.transient, { display_id: "d1" });
    const last = await expectOk("display(html('<i>last</i>'))");
    assert.deepEqual(last.outputs.map((m) => m.header.msg_type), ["execute_input", "display_data"], "display(x) as the last line shows x once, not its handle");
    const bar = await expectOk("import { progress } from 'cluelab/display';\nconst bar = progress(2, { widget: false });\nbar.update(2);\nbar");
    assert.deepEqual(ofType(bar.outputs, "execute_result"), [], "a progress bar as the last line is not shown again");
    assert.equal(result((await expectOk("handle.id")).outputs), "'d1'", "a handle's fields are still there to read");
    const late = await expectOk(
      "display({ async [Symbol.for('Jupyter.display')]() { await new Promise((r) => setTimeout(r, 50)); return { 'text/html': '<i>late</i>' }; } });\n'cell done'",
    );
    assert.deepEqual(late.outputs.map((m) => m.header.msg_type), ["execute_input", "display_data", "execute_result"], "asynchronous rendering lands before idle");
    assert.equal((ofType(late.outputs, "display_data")[0]!.content.data as Record<string, unknown>)["text/html"], "<i>late</i>");
    const pixels = Buffer.from(encodePng({ width: 2, height: 2, channels: 4, data: new Uint8Array(16).fill(200) })).toString("base64");
    const sized = await expectOk(`import { png } from 'cluelab/display';\npng(${JSON.stringify(pixels)}, { width: 40 })`);
    const sizedResult = ofType(sized.outputs, "execute_result")[0]!.content;
    assert.deepEqual(sizedResult.metadata, { "image/png": { width: 40 } }, "a displayable's metadata goes with its execute_result");
    assert.equal((sizedResult.data as Record<string, unknown>)["image/png"], pixels);
    const tslab = await expectOk("import * as tslab from 'tslab';\ntslab.display.html('<u>t</u>');");
    assert.equal((ofType(tslab.outputs, "display_data")[0]!.content.data as Record<string, unknown>)["text/html"], "<u>t</u>");
  });

  it("publishes late output at once with its cell, and notes an error thrown asynchronously in the next cell", async () => {
    const cell = await expectOk("setTimeout(() => console.log('timer fired'), 30);\nsetTimeout(() => { throw new Error('thrown later') }, 60);\n'scheduled'");
    const count = cell.reply.content.execution_count as number;
    const late = await kernel.takeLate(cell.reply.parent_header.msg_id as string, 2);
    assert.deepEqual(late.map((m) => m.header.msg_type), ["stream", "stream"]);
    assert.equal(streams(late).stdout, "timer fired\n");
    const where = `\\(cell \\[${count}\\], line 2, column \\d+\\)`;
    assert.match(streams(late).stderr, new RegExp(`^An error was thrown asynchronously after cell \\[${count}\\] finished:\\nError: thrown later\\n\\s+at Timeout\\._onTimeout ${where}`));
    const next = await expectOk("'next'");
    assert.deepEqual(next.outputs.map((m) => m.header.msg_type), ["execute_input", "stream", "execute_result"]);
    assert.match(
      streams(next.outputs).stderr,
      new RegExp(`^An error was thrown asynchronously after cell \\[${count}\\] finished \\(its traceback went out with that cell's output\\):\\nError: thrown later\\n\\s+at Timeout\\._onTimeout ${where}\\n$`),
    );
    const during = await expectOk("Promise.reject(new Error('nobody waits'));\nawait new Promise((r) => setTimeout(r, 20));");
    assert.match(streams(during.outputs).stderr, /Uncaught error in a callback or promise:\nError: nobody waits/);
  });

  for (const [index, [label, code, how]] of ([
    ["a synchronous loop", "let spins = 0;\nwhile (true) { spins++ }", "message"],
    ["a loop after an await", "await new Promise((r) => setTimeout(r, 10));\nlet spins2 = 0;\nwhile (true) { spins2++ }", "message"],
    ["a promise that never settles", "await new Promise(() => {});", "message"],
    ["a synchronous loop, by SIGINT", "let spins3 = 0;\nwhile (true) { spins3++ }", "SIGINT"],
    ["a loop after an await, by SIGINT", "await new Promise((r) => setTimeout(r, 10));\nlet spins4 = 0;\nwhile (true) { spins4++ }", "SIGINT"],
  ] as const).entries()) {
    it(`interrupts ${label}, keeping every variable and staying responsive`, async () => {
      await expectOk("const survivor = { kept: true };");
      const marker = `cell ${index} started`;
      // The marker is printed before the loop and must reach the frontend during it.
      const [r] = await Promise.all([kernel.execute(`console.log(${JSON.stringify(marker)});\n${code}`), interruptAfter(marker, 200, how)]);
      assert.equal(r.reply.content.status, "error");
      assert.equal(r.reply.content.ename, "Interrupted");
      assert.equal(result((await expectOk("survivor")).outputs), "{ kept: true }");
    });
  }

  it("stops a timer callback spinning after its cell, twice, and lives on with every variable", async () => {
    await expectOk("const afterTimers = 'kept';");
    for (const round of [1, 2]) {
      const armed = await expectOk(`setTimeout(() => { console.log('timer ${round} spinning'); for (;;) {} }, 50);\n0`);
      const [late] = await kernel.takeLate(armed.reply.parent_header.msg_id as string, 1);
      assert.equal(late!.content.text, `timer ${round} spinning\n`, "the timer's output goes out under its cell");
      // Node aborts the process when a callback it made is cut off with its async context still
      // pushed ("async hook stack has become corrupted"); the kernel clears the stack first.
      // (By message: a SIGINT's interrupt arrives a moment later, and would land on the next cell.)
      const reply = await kernel.request("control", "interrupt_request", {});
      await kernel.collect(reply.parent_header.msg_id as string);
      assert.equal(result((await expectOk("afterTimers")).outputs), "'kept'");
      assert.equal(kernel.process.exitCode, null, "the kernel process is alive");
      assert.equal(result((await expectOk("await new Promise((r) => setTimeout(() => r('timers work'), 10))")).outputs), "'timers work'");
    }
  });

  it("survives SIGINTs in quick succession, while a cell spins and while idle", async () => {
    const pair = (gapMicroseconds: number) => {
      kernel.process.kill("SIGINT");
      for (const end = performance.now() + gapMicroseconds / 1000; performance.now() < end; );
      kernel.process.kill("SIGINT");
    };
    await expectOk("const beforeSignals = 'kept';");
    const [r] = await Promise.all([
      kernel.execute("console.log('spinning for two signals');\nwhile (true) {}"),
      kernel.waitForStdout("spinning for two signals").then(async () => {
        await sleep(100);
        pair(0);
      }),
    ]);
    assert.equal(r.reply.content.ename, "Interrupted");
    // A lone waiting thread re-arms Node's watchdog microseconds after each catch; the old design
    // died in about 1 of 8 such pairs.
    for (let i = 0; i < 24; i++) {
      pair([0, 5, 20, 50, 100, 300][i % 6]!);
      await sleep(15);
    }
    await sleep(300);
    assert.equal(kernel.process.signalCode, null, "the kernel was not killed by a SIGINT");
    assert.equal(result((await expectOk("beforeSignals")).outputs), "'kept'");
  });

  it("gives the cell's AbortSignal to library code first, so a loop stops between steps with its state", async () => {
    const [r] = await Promise.all([
      kernel.execute(
        "import { currentAbortSignal } from 'cluelab/display';\nconst signal = currentAbortSignal()!;\nlet steps = 0;\nconsole.log('stepping');\n" +
          "while (!signal.aborted) { steps++; await new Promise((r) => setTimeout(r, 5)); }\n`stopped cleanly after ${steps > 0 ? 'some' : 'no'} steps`",
      ),
      interruptAfter("stepping", 200, "message"),
    ]);
    assert.equal(r.reply.content.status, "ok");
    assert.equal(result(r.outputs), "'stopped cleanly after some steps'");
    assert.ok(Number(result((await expectOk("steps")).outputs)) > 0);
  });

  it("lets a synchronous loop see the AbortSignal at once (aborted, throwIfAborted, the abort event), state kept", async () => {
    const [r] = await Promise.all([
      kernel.execute(
        "import { currentAbortSignal } from 'cluelab/display';\nconst syncSignal = currentAbortSignal()!;\nconst heard: string[] = [];\n" +
          "syncSignal.addEventListener('abort', () => heard.push('abort event'));\nlet syncSteps = 0;\nconsole.log('sync stepping');\n" +
          "while (!syncSignal.aborted) syncSteps++;\n[syncSignal instanceof AbortSignal, syncSignal.reason.name, heard]",
      ),
      interruptAfter("sync stepping", 200, "message"),
    ]);
    assert.equal(r.reply.content.status, "ok", "the loop stopped by itself, not by the hard stop");
    assert.equal(result(r.outputs), "[ true, 'AbortError', [ 'abort event' ] ]");
    assert.ok(Number(result((await expectOk("syncSteps")).outputs)) > 0);
    const [thrown] = await Promise.all([
      kernel.execute("const model = { steps: 0 };\nconst stepSignal = currentAbortSignal()!;\nconsole.log('training synchronously');\nfor (;;) { model.steps++; stepSignal.throwIfAborted(); }"),
      interruptAfter("training synchronously", 200, "SIGINT"),
    ]);
    assert.equal(thrown.reply.content.ename, "AbortError");
    assert.equal(thrown.reply.content.evalue, "The cell was interrupted");
    assert.ok(Number(result((await expectOk("model.steps")).outputs)) > 0);
  });

  it("answers prompt() through stdin, and refuses clearly when the frontend does not allow stdin", async () => {
    kernel.onInput((prompt) => `answer to ${prompt}`);
    const r = await expectOk("const reply = prompt('name?');\nreply", { allow_stdin: true });
    assert.equal(result(r.outputs), "'answer to name?'");
    const refused = await kernel.execute("prompt('again?')", { allow_stdin: false });
    assert.equal(refused.reply.content.status, "error");
    assert.match(String(refused.reply.content.evalue), /allow_stdin is false/);
  });

  it("opens comms both ways and lists them in comm_info", async () => {
    await expectOk(
      "import { getCommSink } from 'cluelab/display';\nconst comms = getCommSink()!;\nconst received: unknown[] = [];\n" +
        "comms.registerTarget('echo', (comm, first) => { received.push(first.data); comm.onMessage((m) => comm.send({ echo: m.data })); });\n" +
        "const mine = comms.open('frontend.target', { hello: 1 });",
    );
    let info = await kernel.request("shell", "comm_info_request", {});
    await kernel.collect(info.parent_header.msg_id as string);
    assert.deepEqual(Object.values(info.content.comms as object), [{ target_name: "frontend.target" }]);
    const openId = kernel.send("shell", "comm_open", { comm_id: "c-1", target_name: "echo", data: { from: "frontend" } });
    await kernel.collect(openId);
    const msgId = kernel.send("shell", "comm_msg", { comm_id: "c-1", data: { ping: 1 } });
    const echoed = ofType(await kernel.collect(msgId), "comm_msg");
    assert.deepEqual(echoed.map((m) => m.content.data), [{ echo: { ping: 1 } }]);
    const unknownId = kernel.send("shell", "comm_open", { comm_id: "c-2", target_name: "nobody", data: {} });
    const closed = ofType(await kernel.collect(unknownId), "comm_close");
    assert.equal(closed[0]!.content.comm_id, "c-2");
    info = await kernel.request("shell", "comm_info_request", { target_name: "echo" });
    await kernel.collect(info.parent_header.msg_id as string);
    assert.deepEqual(info.content.comms, { "c-1": { target_name: "echo" } });
    assert.equal(result((await expectOk("JSON.stringify(received)")).outputs), `'[{"from":"frontend"}]'`);
  });

  it("aborts queued cells after an error when stop_on_error is set", async () => {
    const first = kernel.execute("throw new Error('first fails')");
    const second = kernel.execute("'never runs'");
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.reply.content.status, "error");
    assert.equal(b.reply.content.status, "aborted");
    assert.deepEqual(b.outputs, []);
  });

  it("drops messages with a wrong signature (logging them) and survives malformed frames", async () => {
    const forged = kernel.message("execute_request", { code: "globalThis.hacked = true" });
    const parts = [forged.header, forged.parent_header, forged.metadata, forged.content].map((p) => Buffer.from(JSON.stringify(p)));
    await kernel.sendFrames("shell", [DELIMITER, Buffer.from("0".repeat(64)), ...parts]);
    await kernel.sendFrames("shell", [Buffer.from("garbage without a delimiter")]);
    await kernel.sendFrames("control", [DELIMITER, Buffer.from(""), Buffer.from("{oops"), Buffer.from("{}"), Buffer.from("{}"), Buffer.from("{}")]);
    await kernel.sendFrames("shell", [DELIMITER]);
    assert.equal(result((await expectOk("(globalThis as any).hacked ?? 'not hacked'")).outputs), "'not hacked'");
    const log = kernel.stderr.join("");
    assert.match(log, /dropped a message on shell: bad signature/);
    assert.match(log, /dropped a message on shell: no <IDS\|MSG> delimiter frame/);
    assert.match(log, /dropped a message on control: bad signature/);
  });

  it("keeps history across kernel restarts in the user's data folder", async () => {
    await expectOk("const remembered = 'history marker 8123'");
    const second = await TestKernel.start({ directory: kernel.directory });
    try {
      const reply = await second.request("shell", "history_request", { hist_access_type: "search", pattern: "*history marker 8123*", output: false, raw: true });
      await second.collect(reply.parent_header.msg_id as string);
      const rows = reply.content.history as Array<[number, number, string]>;
      assert.equal(rows.length, 1);
      assert.equal(rows[0]![2], "const remembered = 'history marker 8123'");
    } finally {
      await second.shutdown();
    }
  });
});
