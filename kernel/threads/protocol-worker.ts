/**
 * The protocol worker: binds the sockets, answers the heartbeat, runs the protocol core and
 * interrupts. It starts the checker worker once the sockets are bound, so `kernel_info` is
 * answered while TypeScript loads.
 */
import { writeSync } from "node:fs";
import { join } from "node:path";
import { MessageChannel, parentPort, Worker, workerData } from "node:worker_threads";
import { KernelCore } from "../protocol/core.js";
import { FileHistory, jupyterDataDir } from "../protocol/history.js";
import { kernelVersion, OWN_DECLARATIONS, typeRoots, typescriptVersion } from "../paths.js";
import { Signer } from "../wire/codec.js";
import type { ConnectionInfo } from "../wire/connection.js";
import { ZmqTransport } from "../wire/sockets.js";
import { ThreadBridge } from "./bridge.js";
import { WorkerClient, type Requester } from "./worker-client.js";
import type { FromMain, Lifecycle, ToMain } from "./messages.js";
import type { SignalMessage, SignalWorkerData } from "./signal-worker.js";

export interface ProtocolWorkerData {
  connection: ConnectionInfo;
  directory: string;
  inputBuffer: SharedArrayBuffer;
  interruptBuffer: SharedArrayBuffer;
  graceMs: number;
  globals: string;
}

const data = workerData as ProtocolWorkerData;
const main = parentPort!;
const log = (line: string) => writeSync(2, `[cluelab kernel] ${line}\n`);
// Jupyter shows a kernel's stderr in its terminal (jupyter-console's own screen, too): only
// problems go there unless CLUELAB_DEBUG is set.
const debug = process.env.CLUELAB_DEBUG ? log : () => {};
const lifecycle = (message: Lifecycle) => main.postMessage(message);

const info = data.connection;
const transport = await ZmqTransport.bind(info, new Signer(info.signature_scheme, info.key), log);

let checker: WorkerClient | undefined;
let syntax: WorkerClient | undefined;
const typescript: Requester = { request: (op, args) => (op === "isComplete" ? syntax! : checker!).request(op, args) };
const bridge = new ThreadBridge({
  main: { postMessage: (message: ToMain) => main.postMessage(message) },
  checker: typescript,
  inputBuffer: data.inputBuffer,
  interruptBuffer: data.interruptBuffer,
  graceMs: data.graceMs,
  log,
  debug,
  exit: async () => {
    shuttingDown = true;
    for (const note of core.pendingNotes()) log(`shown in no cell: ${note.trimEnd()}`);
    await transport.close();
    await Promise.all([checker?.close(), syntax?.close()]);
    lifecycle({ type: "exit", code: 0 });
  },
});
const core = new KernelCore({
  transport,
  interpreter: bridge,
  history: new FileHistory(join(jupyterDataDir(), "cluelab", "history.jsonl"), log),
  log,
  kernelInfo: {
    implementation: "cluelab",
    implementation_version: kernelVersion(),
    language_info: {
      name: "typescript",
      version: typescriptVersion(),
      mimetype: "text/typescript",
      file_extension: ".ts",
      pygments_lexer: "typescript",
      codemirror_mode: { name: "javascript", typescript: true },
    },
    banner: `cluelab ${kernelVersion()}: TypeScript ${typescriptVersion()} on Node ${process.versions.node}, type-checked cells, V8 REPL semantics`,
    help_links: [{ text: "cluelab", url: "https://www.npmjs.com/package/cluelab" }],
    debugger: false,
  },
});
bridge.core = core;
main.on("message", (message: FromMain) => bridge.fromMain(message));
transport.onMessage((channel, message) => core.receive(channel, message));
core.start();
lifecycle({ type: "ready" });

const setup = { directory: data.directory, paths: OWN_DECLARATIONS, typeRoots: typeRoots(), globals: data.globals };
checker = new WorkerClient(new URL("../typescript/worker.js", import.meta.url), { setup }, "declarations of earlier cells are unknown to the type checker until they run again", log, debug);
syntax = new WorkerClient(new URL("../typescript/syntax-worker.js", import.meta.url), {}, "nothing was lost", log, debug);

/**
 * A SIGINT thread (see signal-worker.ts), started again should it ever stop, so Ctrl-C never
 * falls back to exiting. The first one holds Node's SIGINT watchdog; where it cannot, a
 * second one keeps a wait armed while the first reports.
 */
function startSignalWorker(hold: boolean): void {
  const signals = new MessageChannel();
  signals.port1.on("message", (message: SignalMessage) => {
    if (message === "SIGINT") {
      debug("SIGINT: interrupting");
      bridge.interrupt();
    } else if (hold && !message.held && !secondSignalWorker) {
      secondSignalWorker = true;
      debug("SIGINT: Node's watchdog cannot be held here; a second signal thread keeps a wait armed");
      startSignalWorker(false);
    }
  });
  signals.port1.unref();
  const data: SignalWorkerData = { port: signals.port2, hold };
  const worker = new Worker(new URL("./signal-worker.js", import.meta.url), { workerData: data, transferList: [signals.port2] });
  worker.on("error", (error) => log(`signal worker failed: ${error.message}`));
  worker.on("exit", () => {
    signals.port1.close();
    if (!shuttingDown) startSignalWorker(hold);
  });
  worker.unref();
}
let shuttingDown = false;
let secondSignalWorker = false;
startSignalWorker(true);

// A kernel whose Jupyter parent died exits instead of running on (as ipykernel's parent poller).
const parent = Number(process.env.JPY_PARENT_PID);
if (Number.isInteger(parent) && parent > 1) {
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      log(`parent process ${parent} is gone: exiting`);
      void bridge.shutdown(false);
    }
  }, 3000).unref();
}
