/**
 * The checker worker: owns the TypeScript language service, so that loading and warming it
 * (about a second) and checking cells never block the protocol loop or the user's code.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import type { CheckerRequest, CheckerResponse } from "../threads/messages.js";
import { isComplete } from "./completeness.js";
import { CellSession, type SessionSetup } from "./session.js";

const { port, setup } = workerData as { port: MessagePort; setup: SessionSetup };
const reply = (response: CheckerResponse) => port.postMessage(response);

const session = new CellSession(setup);
session.onInternalDiagnostic = (message) => reply({ id: -1, log: `checker: diagnostic in the kernel's own lines: ${message}` });

function serve(request: CheckerRequest): void {
  try {
    switch (request.op) {
      case "compile":
        return reply({ id: request.id, ok: true, result: session.compile(request.code, request.executionCount) });
      case "settle":
        session.settle(request.cell, request.ran, request.bound);
        return reply({ id: request.id, ok: true, result: null });
      case "complete":
        return reply({ id: request.id, ok: true, result: session.complete(request.code, request.cursor) });
      case "inspect":
        return reply({ id: request.id, ok: true, result: session.inspect(request.code, request.cursor, request.detailLevel) });
      case "isComplete":
        return reply({ id: request.id, ok: true, result: isComplete(request.code) });
    }
  } catch (error) {
    reply({ id: request.id, ok: false, error: (error as Error).stack ?? String(error) });
  }
}

port.on("message", serve);
// Requests that arrive while warming wait in the port's queue.
const started = performance.now();
session.warm();
reply({ id: -1, log: `checker: warm in ${Math.round(performance.now() - started)} ms`, debug: true });
parentPort?.postMessage("warm");
