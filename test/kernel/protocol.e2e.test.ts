/**
 * The protocol as a demanding frontend uses it, against the real kernel process over ZeroMQ:
 * silent and unrecorded executions, history, kernel_info on control, completion and inspection
 * (code-point cursors), is_complete, an interrupt of prompt(), and shutdown (with restart) while
 * a cell spins. (stop_on_error, comm_info's target_name and allow_stdin false: kernel.e2e.test.ts.)
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { resultText, TestKernel } from "./helpers/client.js";

let kernel: TestKernel;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const result = resultText;
const points = (text: string) => [...text].length;

/** A request on shell or control, its reply's content, once its idle is out. */
async function ask(type: string, content: Record<string, unknown>, channel: "shell" | "control" = "shell"): Promise<Record<string, unknown>> {
  const reply = await kernel.request(channel, type, content);
  await kernel.collect(reply.parent_header.msg_id as string);
  return reply.content;
}

const expectOk = (code: string, content: Record<string, unknown> = {}) => kernel.executeOk(code, content);

describe("the protocol, as a frontend uses it", () => {
  before(async () => {
    kernel = await TestKernel.start();
  });
  after(async () => {
    assert.deepEqual(kernel.lateMessages().map((m) => m.header.msg_type), [], "no message of a request after its idle");
    await kernel.shutdown();
  });

  it("answers kernel_info on control as on shell", async () => {
    const control = await ask("kernel_info_request", {}, "control");
    const shell = await ask("kernel_info_request", {});
    assert.equal(control.status, "ok");
    assert.deepEqual(control, shell);
    assert.equal((control.language_info as Record<string, unknown>).name, "typescript");
  });

  it("runs silent code without publishing anything, and unrecorded code without counting or remembering it", async () => {
    const first = await expectOk("const counted = 1;\ncounted");
    const count = first.reply.content.execution_count as number;
    const silent = await expectOk("console.log('quiet');\nconst fromSilent = 2;\nfromSilent", { silent: true });
    assert.deepEqual(silent.outputs, [], "no execute_input, stream or result");
    assert.equal(silent.reply.content.execution_count, count);
    const unrecorded = await expectOk("console.log('shown');\nfromSilent + 1", { store_history: false });
    assert.deepEqual(unrecorded.outputs.map((m) => m.header.msg_type), ["execute_input", "stream", "execute_result"]);
    assert.equal(unrecorded.reply.content.execution_count, count);
    assert.equal(result(unrecorded.outputs), "3");
    const next = await expectOk("'recorded'");
    assert.equal(next.reply.content.execution_count, count + 1);
    const tail = (await ask("history_request", { hist_access_type: "tail", n: 2, output: true, raw: true })).history as Array<[number, number, [string, string | null]]>;
    assert.deepEqual(
      tail.map(([, line, [input, output]]) => [line, input, output]),
      [
        [count, "const counted = 1;\ncounted", "1"],
        [count + 1, "'recorded'", "'recorded'"],
      ],
    );
  });

  it("answers history range and search, with glob patterns and unique", async () => {
    for (const code of ["const zzHist = 1;", "zzHist + 1", "zzHist + 2", "zzHist + 1"]) await expectOk(code);
    const search = (content: Record<string, unknown>) =>
      ask("history_request", { hist_access_type: "search", raw: true, output: false, ...content }).then((c) => (c.history as Array<[number, number, string]>).map((row) => row[2]));
    assert.deepEqual(await search({ pattern: "zzHist + ?" }), ["zzHist + 1", "zzHist + 2", "zzHist + 1"]);
    assert.deepEqual(await search({ pattern: "zzHist + ?", unique: true }), ["zzHist + 2", "zzHist + 1"]);
    assert.deepEqual(await search({ pattern: "zzHist*", n: 2 }), ["zzHist + 2", "zzHist + 1"]);
    assert.deepEqual(await search({ pattern: "zzHist + [2]" }), ["zzHist + 2"]);
    const tail = (await ask("history_request", { hist_access_type: "tail", n: 4, raw: true, output: false })).history as Array<[number, number, string]>;
    const [session, start] = tail[0]!;
    const range = (await ask("history_request", { hist_access_type: "range", session: 0, start: start + 1, stop: start + 3, raw: true, output: false })).history as Array<[number, number, string]>;
    assert.deepEqual(range, [
      [session, start + 1, "zzHist + 1"],
      [session, start + 2, "zzHist + 2"],
    ]);
  });

  it("completes at the start of a cell and after `.` on an earlier cell's variable, counting code points", async () => {
    await expectOk("const zzGreeting = 'hello';\nconst zzCount = 3;");
    const start = await ask("complete_request", { code: "zzG", cursor_pos: 3 });
    assert.deepEqual([start.matches, start.cursor_start, start.cursor_end], [["zzGreeting"], 0, 3]);
    const empty = await ask("complete_request", { code: "", cursor_pos: 0 });
    assert.ok((empty.matches as string[]).includes("zzCount") && (empty.matches as string[]).includes("console"));
    const member = await ask("complete_request", { code: "zzGreeting.", cursor_pos: 11 });
    assert.ok((member.matches as string[]).includes("toUpperCase"));
    assert.deepEqual([member.cursor_start, member.cursor_end], [11, 11]);
    const code = "const party = '🎉🎉';\nzzGreeting.toUp";
    const emoji = await ask("complete_request", { code, cursor_pos: points(code) });
    assert.deepEqual([emoji.matches, emoji.cursor_start, emoji.cursor_end], [["toUpperCase"], points(code) - 4, points(code)]);
  });

  it("inspects with TSDoc at detail level 1 (a cluelab function) and at a code-point cursor after an emoji", async () => {
    const code = "import { progress } from 'cluelab/display';\nprogress";
    const detailed = await ask("inspect_request", { code, cursor_pos: points(code), detail_level: 1 });
    assert.equal(detailed.found, true);
    const data = detailed.data as Record<string, string>;
    assert.match(data["text/plain"]!, /function progress\(total: number, options\?: ProgressOptions\): Progress/);
    assert.match(data["text/plain"]!, /A progress bar for `total` steps, updated in place in one output/);
    assert.match(data["text/markdown"]!, /^```typescript\n/);
    const before = "const mood = '😀';\nzzGreet";
    const hover = await ask("inspect_request", { code: before + "ing.length", cursor_pos: points(before), detail_level: 0 });
    assert.equal(hover.found, true);
    assert.match((hover.data as Record<string, string>)["text/plain"]!, /^const zzGreeting: "hello"/);
  });

  it("says whether code is complete, incomplete or invalid", async () => {
    const status = async (code: string) => (await ask("is_complete_request", { code })).status;
    assert.equal(await status("for (;;) {"), "incomplete");
    assert.equal((await ask("is_complete_request", { code: "for (;;) {" })).indent, "  ");
    assert.equal(await status("const = ;"), "invalid");
    assert.equal(await status("class Finished {\n  x = 1;\n  twice() {\n    return this.x * 2;\n  }\n}"), "complete");
    assert.equal(await status("class Unfinished {\n  x = 1;\n"), "incomplete");
  });

  it("interrupts a prompt() waiting for input: an AbortError in the cell, every variable kept", async () => {
    // This test's client never answers input requests.
    await expectOk("let answer = 'none';");
    const running = kernel.execute("console.log('asking');\nanswer = prompt('name?') ?? 'null';", { allow_stdin: true });
    await kernel.waitForStdout("asking");
    await sleep(200);
    assert.equal((await ask("interrupt_request", {}, "control")).status, "ok");
    const r = await running;
    assert.equal(r.reply.content.ename, "AbortError");
    assert.equal(r.reply.content.evalue, "Interrupted while waiting for input");
    assert.deepEqual(kernel.inputRequests.map((m) => m.content.prompt), ["name?"]);
    assert.equal(result((await expectOk("answer")).outputs), "'none'");
  });

  it("shuts down for a restart while a cell spins, within a second (the interrupt grace is longer)", async () => {
    // The default interrupt grace (3 s): a shutdown waits at most a second of it.
    const spinner = await TestKernel.start({ directory: kernel.directory });
    try {
      // The kernel exits with the cell still running: no reply or idle ever comes for it.
      spinner.execute("console.log('spinning');\nwhile (true) {}").catch(() => undefined);
      await spinner.waitForStdout("spinning");
      const exited = new Promise<number | null>((resolve) => spinner.process.once("exit", (code) => resolve(code)));
      const started = performance.now();
      const reply = await spinner.request("control", "shutdown_request", { restart: true });
      assert.deepEqual(reply.content, { status: "ok", restart: true });
      assert.equal(await Promise.race([exited, sleep(10_000).then(() => "still running")]), 0);
      assert.ok(performance.now() - started < 3000, "within a second or so, well before jupyter_client would kill it (5 s)");
    } finally {
      await spinner.shutdown();
    }
  });
});
