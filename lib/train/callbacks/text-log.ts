/** One plain line per epoch (and on stop/checkpoint), for scripts and terminals. */
import { lossText, lrText, percent, seconds } from "./format.js";
import type { Callback } from "./types.js";

/** Prints a line per epoch (train loss/accuracy, validation loss/top-1/top-3, rate, time) to `write` (default stdout). */
export function textLog(write: (line: string) => void = (line) => process.stdout.write(line + "\n")): Callback {
  return {
    onTrainBegin(e) {
      if (e.resumed) write(`resuming at step ${e.startStep} (epoch ${Math.floor(e.startStep / e.stepsPerEpoch) + 1}/${e.epochs})`);
    },
    onEpochEnd(e) {
      const v = e.validation;
      write(
        `epoch ${e.epoch + 1}/${e.epochs}  train loss ${lossText(e.trainLoss)} acc ${percent(e.trainAccuracy)}` +
          (v ? `  val loss ${lossText(v.loss)} top-1 ${percent(v.top1)} top-3 ${percent(v.top3)}` : "") +
          `  lr ${lrText(e.lr)}  ${seconds(e.seconds)}`,
      );
    },
    onCheckpoint(e) {
      write(`checkpoint at step ${e.step}: ${e.path}`);
    },
    onTrainEnd(e) {
      if (e.reason !== "completed") write(`stopped (${e.reason === "aborted" ? "interrupted" : "step budget reached"}) at step ${e.step}${e.checkpoint ? `; resumable from ${e.checkpoint}` : ""}`);
    },
  };
}
