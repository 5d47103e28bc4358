/** A progress bar over the run's steps (an ipywidgets/HTML bar in a notebook, a line on stderr elsewhere). */
import { progress, type Progress } from "../../display/index.js";
import { lossText, lrText, percent } from "./format.js";
import type { Callback } from "./types.js";

/** Progress over all steps of the run, with the epoch, loss, accuracy, rate and throughput after the counts. */
export function progressBar(options: { label?: string } = {}): Callback {
  let bar: Progress | undefined;
  let epochs = 0;
  let validation = "";
  let lastStep = "";
  return {
    onTrainBegin(event) {
      const remaining = Math.max(0, event.totalSteps - event.startStep);
      bar = progress(remaining, { label: options.label ?? (event.resumed ? `training (resumed at step ${event.startStep})` : "training") });
      epochs = event.epochs;
      const last = event.history.epochs.at(-1)?.validation;
      if (last) validation = ` · val top-1 ${percent(last.top1)}`;
    },
    onStepEnd(e) {
      lastStep = `epoch ${e.epoch + 1}/${epochs} · loss ${lossText(e.loss)} · acc ${percent(e.accuracy)} · lr ${lrText(e.lr)} · ${e.imagesPerSecond.toFixed(1)} img/s`;
      bar?.increment(1, lastStep + validation);
    },
    onValidationBatch(e) {
      bar?.update(bar.value, `${lastStep} · validating ${e.seen}${e.total !== undefined ? `/${e.total}` : ""}`);
    },
    onEpochEnd(e) {
      if (e.validation) validation = ` · val top-1 ${percent(e.validation.top1)}`;
    },
    onTrainEnd(e) {
      bar?.done(`${e.reason} at step ${e.step}, ${e.epoch} epochs done${validation}`);
    },
  };
}
