/** The protocol core with a fake transport and a fake interpreter: no sockets, no TypeScript. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  KernelCore,
  type ExecuteContext,
  type ExecuteOutcome,
  type History,
  type Interpreter,
  type RequestContext,
  type Transport,
} from "../../kernel/protocol/core.js";
import type { Channel, ExecuteRequest, HistoryRequest, JsonObject, Message } from "../../kernel/protocol/messages.js";

class FakeTransport implements Transport {
  readonly sent: Array<{ channel: Channel; message: Message }> = [];
  send(channel: Channel, message: Message): void {
    this.sent.push({ channel, message });
  }
  /** "channel:msg_type" of everything sent for one request (by parent id). */
  trace(parentId: string): string[] {
    return this.sent
      .filter(({ message }) => message.parent_header.msg_id === parentId)
      .map(({ channel, message }) => `${channel}:${message.header.msg_type}${message.header.msg_type === "status" ? "=" + String(message.content.execution_state) : ""}`);
  }
  of(parentId: string, type: string): Message[] {
    return this.sent.filter(({ message }) => message.parent_header.msg_id === parentId && message.header.msg_type === type).map(({ message }) => message);
  }
}

type Script = (code: string, context: ExecuteContext) => Promise<ExecuteOutcome>;

/** Runs "code" by looking it up in a table of behaviours. */
class FakeInterpreter implements Interpreter {
  readonly executed: string[] = [];
  interrupts = 0;
  readonly comms: Array<[string, JsonObject]> = [];
  shutdowns: boolean[] = [];
  constructor(private readonly script: Script) {}
  execute(request: ExecuteRequest, context: ExecuteContext): Promise<ExecuteOutcome> {
    this.executed.push(request.code);
    return this.script(request.code, context);
  }
  async complete(code: string, cursorPos: number) {
    return { matches: [code.slice(0, cursorPos)], cursor_start: 0, cursor_end: cursorPos, metadata: {} };
  }
  async inspect(code: string) {
    if (code === "throw") throw new Error("inspector exploded");
    return { found: true, data: { "text/plain": "doc" }, metadata: {} };
  }
  async isComplete(code: string) {
    return { status: code.endsWith("{") ? ("incomplete" as const) : ("complete" as const) };
  }
  interrupt(): void {
    this.interrupts++;
  }
  async comm(kind: "comm_open" | "comm_msg" | "comm_close", content: JsonObject, _buffers: Uint8Array[], context: RequestContext) {
    this.comms.push([kind, content]);
    context.publish({ msg_type: "comm_msg", content: { comm_id: content.comm_id, data: { echo: true } } });
  }
  commInfo(target?: string) {
    const all = { c1: { target_name: "jupyter.widget" }, c2: { target_name: "other" } };
    return target ? Object.fromEntries(Object.entries(all).filter(([, v]) => v.target_name === target)) : all;
  }
  async shutdown(restart: boolean) {
    this.shutdowns.push(restart);
  }
}

class MemoryHistory implements History {
  readonly session = 7;
  readonly entries: Array<[number, string, string | null]> = [];
  append(line: number, input: string, output: string | null): void {
    this.entries.push([line, input, output]);
  }
  query(_request: HistoryRequest) {
    return this.entries.map(([line, input]) => [this.session, line, input] as [number, number, string]);
  }
}

let counter = 0;
function request(type: string, content: JsonObject = {}): Message {
  const id = `req-${++counter}`;
  return {
    identities: [Buffer.from("client")],
    header: { msg_id: id, session: "client-session", username: "me", date: new Date().toISOString(), msg_type: type, version: "5.3" },
    parent_header: {},
    metadata: {},
    content,
    buffers: [],
  };
}

const ok = (text?: string): ExecuteOutcome => (text === undefined ? { status: "ok" } : { status: "ok", result: { data: { "text/plain": text }, metadata: {} } });
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

function setup(script: Script = async () => ok()) {
  const transport = new FakeTransport();
  const interpreter = new FakeInterpreter(script);
  const history = new MemoryHistory();
  const log: string[] = [];
  const core = new KernelCore({ transport, interpreter, history, kernelInfo: { implementation: "fake" }, log: (l) => log.push(l) });
  /** Sends a request and waits until its idle is out. */
  const send = async (channel: Channel, message: Message) => {
    core.receive(channel, message);
    for (let i = 0; i < 200 && !transport.trace(message.header.msg_id).includes("iopub:status=idle"); i++) await tick();
    return transport.trace(message.header.msg_id);
  };
  return { transport, interpreter, history, core, log, send };
}

describe("protocol core", () => {
  it("brackets an execution: busy, execute_input, outputs, execute_result, reply, idle", async () => {
    const { transport, send } = setup(async (_code, context) => {
      context.publish({ msg_type: "stream", content: { name: "stdout", text: "hi\n" } });
      context.publish({ msg_type: "display_data", content: { data: { "text/plain": "d" }, metadata: {}, transient: {} } });
      return ok("2");
    });
    const r = request("execute_request", { code: "1 + 1" });
    const trace = await send("shell", r);
    assert.deepEqual(trace, [
      "iopub:status=busy",
      "iopub:execute_input",
      "iopub:stream",
      "iopub:display_data",
      "iopub:execute_result",
      "shell:execute_reply",
      "iopub:status=idle",
    ]);
    const [reply] = transport.of(r.header.msg_id, "execute_reply");
    assert.deepEqual(reply!.content, { status: "ok", execution_count: 1, payload: [], user_expressions: {} });
    assert.deepEqual(reply!.identities.map(String), ["client"]);
    assert.equal(transport.of(r.header.msg_id, "execute_result")[0]!.content.execution_count, 1);
  });

  it("counts executions only when they are stored in history; silent runs publish no input or result", async () => {
    const { transport, history, send } = setup(async () => ok("x"));
    await send("shell", request("execute_request", { code: "a" }));
    const unstored = request("execute_request", { code: "b", store_history: false });
    await send("shell", unstored);
    const silent = request("execute_request", { code: "c", silent: true });
    const trace = await send("shell", silent);
    const third = request("execute_request", { code: "d" });
    await send("shell", third);
    assert.equal(transport.of(unstored.header.msg_id, "execute_reply")[0]!.content.execution_count, 1);
    assert.deepEqual(trace, ["iopub:status=busy", "shell:execute_reply", "iopub:status=idle"]);
    assert.equal(transport.of(third.header.msg_id, "execute_input")[0]!.content.execution_count, 2);
    assert.deepEqual(history.entries, [
      [1, "a", "x"],
      [2, "d", "x"],
    ]);
  });

  it("an error publishes `error`, replies with ename/evalue/traceback and aborts the cells queued behind it", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { transport, interpreter, core, send } = setup(async (code) => {
      if (code === "fail") {
        await gate;
        return { status: "error", error: { ename: "TypeError", evalue: "boom", traceback: ["TypeError: boom"] } };
      }
      return ok();
    });
    const failing = request("execute_request", { code: "fail" });
    const queued = request("execute_request", { code: "never" });
    const info = request("kernel_info_request");
    const queuedNoStop = request("execute_request", { code: "never either" });
    core.receive("shell", failing);
    core.receive("shell", queued);
    core.receive("shell", info);
    core.receive("shell", queuedNoStop);
    await tick();
    release();
    for (let i = 0; i < 200 && !transport.trace(queuedNoStop.header.msg_id).includes("iopub:status=idle"); i++) await tick();
    await send("shell", request("execute_request", { code: "after" }));
    assert.deepEqual(transport.trace(failing.header.msg_id), ["iopub:status=busy", "iopub:execute_input", "iopub:error", "shell:execute_reply", "iopub:status=idle"]);
    const reply = transport.of(failing.header.msg_id, "execute_reply")[0]!;
    assert.equal(reply.content.status, "error");
    assert.equal(reply.content.ename, "TypeError");
    assert.deepEqual(reply.content.traceback, ["TypeError: boom"]);
    for (const aborted of [queued, queuedNoStop]) {
      assert.deepEqual(transport.trace(aborted.header.msg_id), ["iopub:status=busy", "shell:execute_reply", "iopub:status=idle"]);
      assert.equal(transport.of(aborted.header.msg_id, "execute_reply")[0]!.content.status, "aborted");
    }
    assert.equal(transport.of(info.header.msg_id, "kernel_info_reply").length, 1, "other requests still run");
    assert.deepEqual(interpreter.executed, ["fail", "after"]);
  });

  it("with stop_on_error false, later cells still run", async () => {
    const { interpreter, core, send } = setup(async (code) => (code === "fail" ? { status: "error", error: { ename: "E", evalue: "", traceback: [] } } : ok()));
    core.receive("shell", request("execute_request", { code: "fail", stop_on_error: false }));
    await send("shell", request("execute_request", { code: "next" }));
    assert.deepEqual(interpreter.executed, ["fail", "next"]);
  });

  it("publishes late output at once with the last execution as parent, and notes an asynchronous error in the next one", async () => {
    const { transport, core, send } = setup(async () => ok());
    core.late({ msg_type: "stream", content: { name: "stdout", text: "before any execution\n" } });
    assert.deepEqual(transport.sent.at(-1)!.message.parent_header, {}, "no execution yet: no parent");
    const first = request("execute_request", { code: "a" });
    await send("shell", first);
    await send("shell", request("complete_request", { code: "x", cursor_pos: 1 }));
    core.late({ msg_type: "stream", content: { name: "stdout", text: "timer output\n" } });
    core.late({ msg_type: "stream", content: { name: "stderr", text: "Error: later\n    at cell [1]\n" } }, "note: Error: later\n");
    assert.deepEqual(transport.trace(first.header.msg_id).slice(-3), ["iopub:status=idle", "iopub:stream", "iopub:stream"], "sent after the idle, with the last execution as parent");
    assert.deepEqual(core.pendingNotes(), ["note: Error: later\n"]);
    const second = request("execute_request", { code: "b" });
    const trace = await send("shell", second);
    assert.deepEqual(trace.slice(0, 3), ["iopub:status=busy", "iopub:execute_input", "iopub:stream"]);
    assert.equal(transport.of(second.header.msg_id, "stream")[0]!.content.text, "note: Error: later\n");
    assert.deepEqual(core.pendingNotes(), []);
  });

  it("late output while another execution runs goes to the running one, and needs no note", async () => {
    let release!: () => void;
    let context!: ExecuteContext;
    const { transport, core, send } = setup(
      (code, c) =>
        new Promise((resolve) => {
          if (code === "a") resolve(ok());
          else release = () => resolve(ok());
          context = c;
        }),
    );
    const first = request("execute_request", { code: "a" });
    await send("shell", first);
    const firstContext = context;
    const second = request("execute_request", { code: "b" });
    core.receive("shell", second);
    await tick();
    firstContext.publish({ msg_type: "stream", content: { name: "stdout", text: "from a's timer\n" } });
    core.late({ msg_type: "stream", content: { name: "stderr", text: "Error: async\n" } }, "note\n");
    release();
    const trace = await send("shell", request("kernel_info_request"));
    assert.equal(trace.at(-1), "iopub:status=idle");
    assert.deepEqual(transport.trace(second.header.msg_id), ["iopub:status=busy", "iopub:execute_input", "iopub:stream", "iopub:stream", "shell:execute_reply", "iopub:status=idle"]);
    assert.deepEqual(core.pendingNotes(), []);
  });

  it("a silent execution publishes no output (comm messages still go out)", async () => {
    const { transport, send } = setup(async (_code, context) => {
      context.publish({ msg_type: "stream", content: { name: "stdout", text: "quiet\n" } });
      context.publish({ msg_type: "display_data", content: { data: { "text/plain": "d" }, metadata: {}, transient: {} } });
      context.publish({ msg_type: "comm_open", content: { comm_id: "c", target_name: "t", data: {} } });
      return { status: "error", error: { ename: "E", evalue: "quietly", traceback: [] } };
    });
    const silent = request("execute_request", { code: "x", silent: true });
    assert.deepEqual(await send("shell", silent), ["iopub:status=busy", "iopub:comm_open", "shell:execute_reply", "iopub:status=idle"]);
  });

  it("answers control requests while a cell runs", async () => {
    let release!: () => void;
    const { transport, interpreter, core, send } = setup(() => new Promise((resolve) => (release = () => resolve(ok()))));
    core.receive("shell", request("execute_request", { code: "spin" }));
    await tick();
    const info = request("kernel_info_request");
    assert.deepEqual(await send("control", info), ["iopub:status=busy", "control:kernel_info_reply", "iopub:status=idle"]);
    const content = transport.of(info.header.msg_id, "kernel_info_reply")[0]!.content;
    assert.equal(content.status, "ok");
    assert.equal(content.protocol_version, "5.3");
    const interrupt = request("interrupt_request");
    await send("control", interrupt);
    assert.equal(interpreter.interrupts, 1);
    assert.equal(transport.of(interrupt.header.msg_id, "interrupt_reply")[0]!.content.status, "ok");
    release();
  });

  it("serves complete (cursor clamped into the code), inspect, is_complete, history and comm_info", async () => {
    const { transport, send } = setup();
    const complete = request("complete_request", { code: "abc", cursor_pos: 99 });
    await send("shell", complete);
    assert.deepEqual(transport.of(complete.header.msg_id, "complete_reply")[0]!.content, { status: "ok", matches: ["abc"], cursor_start: 0, cursor_end: 3, metadata: {} });
    const incomplete = request("is_complete_request", { code: "f() {" });
    await send("shell", incomplete);
    assert.deepEqual(transport.of(incomplete.header.msg_id, "is_complete_reply")[0]!.content, { status: "incomplete" });
    const inspect = request("inspect_request", { code: "x", cursor_pos: 1 });
    await send("shell", inspect);
    assert.equal(transport.of(inspect.header.msg_id, "inspect_reply")[0]!.content.found, true);
    const info = request("comm_info_request", { target_name: "jupyter.widget" });
    await send("shell", info);
    assert.deepEqual(transport.of(info.header.msg_id, "comm_info_reply")[0]!.content, { status: "ok", comms: { c1: { target_name: "jupyter.widget" } } });
    const history = request("history_request", { hist_access_type: "tail", n: 5, output: false, raw: true });
    await send("shell", history);
    assert.deepEqual(transport.of(history.header.msg_id, "history_reply")[0]!.content, { status: "ok", history: [] });
  });

  it("routes frontend comm messages to the interpreter inside busy/idle, with its outputs parented", async () => {
    const { transport, interpreter, send } = setup();
    const open = request("comm_open", { comm_id: "c9", target_name: "t", data: { a: 1 } });
    assert.deepEqual(await send("shell", open), ["iopub:status=busy", "iopub:comm_msg", "iopub:status=idle"]);
    assert.deepEqual(interpreter.comms, [["comm_open", { comm_id: "c9", target_name: "t", data: { a: 1 } }]]);
    assert.deepEqual(transport.of(open.header.msg_id, "comm_msg")[0]!.content, { comm_id: "c9", data: { echo: true } });
  });

  it("asks for input over stdin with the request's identity, and refuses when stdin is not allowed", async () => {
    let answer: Promise<string> | undefined;
    let refused: Promise<string> | undefined;
    const { transport, core, send } = setup(async (code, context) => {
      if (code === "ask") answer = context.input("name?", false);
      else refused = context.input("name?", false).catch((error: Error) => `refused: ${error.message}`);
      return ok();
    });
    const asking = request("execute_request", { code: "ask", allow_stdin: true });
    await send("shell", asking);
    const inputRequest = transport.sent.find(({ channel }) => channel === "stdin")!;
    assert.equal(inputRequest.message.header.msg_type, "input_request");
    assert.deepEqual(inputRequest.message.identities.map(String), ["client"]);
    assert.deepEqual(inputRequest.message.content, { prompt: "name?", password: false });
    core.receive("stdin", request("input_reply", { value: "Ada" }));
    assert.equal(await answer, "Ada");
    await send("shell", request("execute_request", { code: "other", allow_stdin: false }));
    assert.match(await refused!, /^refused: .*allow_stdin is false/);
  });

  it("ignores unknown message types, stray input replies and code sent on control, logging them", async () => {
    const { transport, interpreter, core, log } = setup();
    core.receive("shell", request("no_such_request"));
    core.receive("stdin", request("input_reply", { value: "x" }));
    core.receive("control", request("execute_request", { code: "overtaking" }));
    await tick();
    assert.equal(transport.sent.length, 0);
    assert.deepEqual(interpreter.executed, []);
    assert.equal(log.length, 3);
  });

  it("replies to shutdown on its channel and on iopub, then lets the interpreter stop", async () => {
    const { transport, interpreter, send } = setup();
    const shutdown = request("shutdown_request", { restart: true });
    const trace = await send("control", shutdown);
    assert.deepEqual(trace, ["iopub:status=busy", "control:shutdown_reply", "iopub:shutdown_reply", "iopub:status=idle"]);
    await tick();
    assert.deepEqual(interpreter.shutdowns, [true]);
    assert.equal(transport.of(shutdown.header.msg_id, "shutdown_reply")[0]!.content.restart, true);
  });

  it("survives a handler that throws: the request gets an error reply and an idle", async () => {
    const { transport, send } = setup();
    const broken = request("inspect_request", { code: "throw", cursor_pos: 1 });
    assert.deepEqual(await send("shell", broken), ["iopub:status=busy", "shell:inspect_reply", "iopub:status=idle"]);
    const reply = transport.of(broken.header.msg_id, "inspect_reply")[0]!.content;
    assert.equal(reply.status, "error");
    assert.match(String(reply.evalue), /inspector exploded/);
    const odd = request("complete_request", { code: 5, cursor_pos: "x" });
    await send("shell", odd);
    assert.deepEqual(transport.of(odd.header.msg_id, "complete_reply")[0]!.content.matches, [""]);
  });
});
