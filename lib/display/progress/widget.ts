/**
 * The progress bar as ipywidgets models, as ipywidgets 8's own `IntProgress` in an `HBox` with an
 * `HTML` status (the layout tqdm uses in notebooks): HBox[IntProgress(description = label),
 * HTML(status)], each with its Layout and Style model.
 */
import type { CommSink } from "../protocol.js";
import { escapeHtml } from "../text.js";
import { identity, WidgetModel } from "../widgets/model.js";
import { BAR_STYLES, statusText, type ProgressState } from "./render.js";

/** The `application/vnd.jupyter.widget-view+json` data that shows a widget. */
export interface WidgetView {
  model_id: string;
  version_major: number;
  version_minor: number;
}

/** A progress bar living in the frontend's widget manager. */
export class ProgressWidget {
  readonly #models: WidgetModel[];
  readonly #bar: WidgetModel;
  readonly #status: WidgetModel;
  readonly #box: WidgetModel;
  readonly #integer: boolean;

  constructor(comms: CommSink, state: ProgressState) {
    const layout = () => WidgetModel.open(comms, identity("LayoutModel", "LayoutView", "base"));
    this.#integer = Number.isInteger(state.total);
    const barLayout = layout();
    const barStyle = WidgetModel.open(comms, {
      ...identity("ProgressStyleModel", "StyleView", "controls", "base"),
      description_width: "initial",
    });
    this.#bar = WidgetModel.open(comms, {
      ...identity(this.#integer ? "IntProgressModel" : "FloatProgressModel", "ProgressView", "controls"),
      layout: barLayout.ref,
      style: barStyle.ref,
      description: state.label ?? "",
      min: 0,
      max: state.total,
      ...this.#barState(state),
    });
    const statusLayout = layout();
    const statusStyle = WidgetModel.open(comms, identity("HTMLStyleModel", "StyleView", "controls", "base"));
    this.#status = WidgetModel.open(comms, {
      ...identity("HTMLModel", "HTMLView", "controls"),
      layout: statusLayout.ref,
      style: statusStyle.ref,
      value: this.#statusHtml(state),
    });
    const boxLayout = layout();
    this.#box = WidgetModel.open(comms, {
      ...identity("HBoxModel", "HBoxView", "controls"),
      layout: boxLayout.ref,
      children: [this.#bar.ref, this.#status.ref],
    });
    this.#models = [barLayout, barStyle, this.#bar, statusLayout, statusStyle, this.#status, boxLayout, this.#box];
  }

  /** What a display shows to put the widget in an output (view format 2.0, as ipywidgets 8 sends). */
  get view(): WidgetView {
    return { model_id: this.#box.id, version_major: 2, version_minor: 0 };
  }

  /** Sends the changed parts of `state`. */
  render(state: ProgressState): void {
    this.#bar.set(this.#barState(state));
    this.#status.set({ value: this.#statusHtml(state) });
  }

  /** Closes every model (the frontend disposes of them). */
  close(): void {
    for (const model of [...this.#models].reverse()) model.close();
  }

  #barState(state: ProgressState): Record<string, unknown> {
    const clamped = Math.min(state.total, Math.max(0, state.value));
    return { value: this.#integer ? Math.floor(clamped) : clamped, bar_style: BAR_STYLES[state.status] };
  }

  #statusHtml(state: ProgressState): string {
    return `<span style="white-space:nowrap">${escapeHtml(statusText(state))}</span>`;
  }
}
