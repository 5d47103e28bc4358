/**
 * The syntax worker: answers `is_complete` from the parser alone, so it never waits behind the
 * type checker (warming up, or checking a long cell).
 */
import { workerData, type MessagePort } from "node:worker_threads";
import type { CheckerRequest, CheckerResponse } from "../threads/messages.js";
import { isComplete } from "./completeness.js";

const { port } = workerData as { port: MessagePort };
port.on("message", (request: CheckerRequest) => {
  let response: CheckerResponse;
  try {
    if (request.op !== "isComplete") throw new Error(`the syntax worker does not do ${request.op}`);
    response = { id: request.id, ok: true, result: isComplete(request.code) };
  } catch (error) {
    response = { id: request.id, ok: false, error: (error as Error).stack ?? String(error) };
  }
  port.postMessage(response);
});
