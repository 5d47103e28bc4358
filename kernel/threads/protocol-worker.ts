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
import { readConnectionFile } from "../wire/connection.js";
import { ZmqTransport } from "../wire/sockets.js";
import { ThreadBridge } from "./bridge.js";
import { CheckerClient } from "./checker-client.js";
import type { FromMain, Lifecycle, ToMain } from "./messages.js";

export interface ProtocolWorkerData {
  connectionFile: string;
  directory: string;
  inputBuffer: SharedArrayBuffer;
  graceMs: number;
  globals: string;
}

const data = workerData as ProtocolWorkerData;
const main = parentPort!;
const log = (line: string) => writeSync(2, `[cluelab kernel] ${line}\n`);
const lifecycle = (message: Lifecycle) => main.postMessage(message);

const info = readConnectionFile(data.connectionFile);
const transport = await ZmqTransport.bind(info, new Signer(info.signature_scheme, info.key), log);

let checker: CheckerClient | undefined;
const bridge = new ThreadBridge({
  main: { postMessage: (message: ToMain) => main.postMessage(message) },
  checker: { request: (op, args) => checker!.request(op, args) },
  inputBuffer: data.inputBuffer,
  graceMs: data.graceMs,
  log,
  exit: async () => {
    await transport.close();
    await checker?.close();
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

checker = new CheckerClient({ directory: data.directory, paths: OWN_DECLARATIONS, typeRoots: typeRoots(), globals: data.globals }, log);

const signals = new MessageChannel();
signals.port1.on("message", () => {
  log("SIGINT: interrupting");
  bridge.interrupt();
});
signals.port1.unref();
new Worker(new URL("./signal-worker.js", import.meta.url), { workerData: { port: signals.port2 }, transferList: [signals.port2] }).unref();

// A kernel whose Jupyter parent died exits instead of running on (as ipykernel's parent poller).
const parent = Number(process.env.JPY_PARENT_PID);
if (Number.isInteger(parent) && parent > 1) {
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      log(`parent process ${parent} is gone: exiting`);
      lifecycle({ type: "exit", code: 0 });
    }
  }, 3000).unref();
}
