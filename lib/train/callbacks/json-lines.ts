/** Every training event as one JSON object per line, appended to a log file (for long headless runs). */
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Callback } from "./types.js";

/**
 * Writes `{"event": "begin" | "step" | "epoch" | "checkpoint" | "end", "time": ISO, …}` lines,
 * appended to the file `target` (created with its folder) or handed to a function. Step lines
 * carry step, epoch, batch, loss, accuracy, lr, images/s; epoch lines the epoch summary with
 * validation loss, top-1 and top-3.
 */
export function jsonLines(target: string | ((line: string) => void)): Callback {
  if (typeof target === "string") mkdirSync(dirname(target), { recursive: true });
  const emit = typeof target === "string" ? (line: string) => appendFileSync(target, line + "\n") : target;
  const write = (event: string, data: object) =>
    emit(JSON.stringify({ event, time: new Date().toISOString(), ...data }, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v)));
  return {
    onTrainBegin: ({ history: _history, ...rest }) => write("begin", rest),
    onStepEnd: (e) => write("step", e),
    onEpochEnd: ({ validation, ...rest }) => write("epoch", { ...rest, ...(validation ? { validation: { ...validation } } : {}) }),
    onCheckpoint: (e) => write("checkpoint", e),
    onTrainEnd: ({ history: _history, ...rest }) => write("end", rest),
  };
}
