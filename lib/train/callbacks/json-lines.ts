/** Every training event as one JSON object per line, appended to a log file (for long headless runs). */
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Callback } from "./types.js";

/**
 * Appends `{"event": "step" | "epoch" | "checkpoint" | "begin" | "end", "time": ISO, …}` lines to
 * `file` (created with its folder). Step lines carry step, epoch, batch, loss, accuracy, lr,
 * images/s; epoch lines the epoch summary with validation loss, top-1 and top-3.
 */
export function jsonLines(file: string): Callback {
  mkdirSync(dirname(file), { recursive: true });
  const write = (event: string, data: object) =>
    appendFileSync(file, JSON.stringify({ event, time: new Date().toISOString(), ...data }, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v)) + "\n");
  return {
    onTrainBegin: ({ history: _history, ...rest }) => write("begin", rest),
    onStepEnd: (e) => write("step", e),
    onEpochEnd: ({ validation, ...rest }) => write("epoch", { ...rest, ...(validation ? { validation: { ...validation } } : {}) }),
    onCheckpoint: (e) => write("checkpoint", e),
    onTrainEnd: ({ history: _history, ...rest }) => write("end", rest),
  };
}
