/**
 * Jupyter widget models over comms, speaking the widget message protocol 2.1.0 (ipywidgets 8):
 * `comm_open` on the `jupyter.widget` target with `{ state, buffer_paths }` and the protocol
 * version in the metadata, `update` messages for state changes, `request_state` answered with the
 * full state, and the `jupyter.widget.control` target answering `request_states` for every live
 * model (how ipywidgets 8 frontends restore widgets after a page reload).
 */
import type { Comm, CommMessage, CommSink } from "../protocol.js";

/** The widget message protocol version sent in every `comm_open`'s metadata. */
export const WIDGET_PROTOCOL_VERSION = "2.1.0";
/** `@jupyter-widgets/base` and `@jupyter-widgets/controls` module versions of ipywidgets 8. */
export const WIDGET_BASE_VERSION = "2.0.0";
export const WIDGET_CONTROLS_VERSION = "2.0.0";

/** A widget's synchronised state: the `_model_*`/`_view_*` identity keys plus attributes. */
export type WidgetState = Record<string, unknown>;

/** The `_model_*` and `_view_*` keys of a core widget model. */
export function identity(
  model: string,
  view: string | null,
  modelModule: "base" | "controls",
  viewModule: "base" | "controls" = modelModule,
): WidgetState {
  const module = (m: "base" | "controls") => `@jupyter-widgets/${m}`;
  const version = (m: "base" | "controls") => (m === "base" ? WIDGET_BASE_VERSION : WIDGET_CONTROLS_VERSION);
  return {
    _model_module: module(modelModule),
    _model_module_version: version(modelModule),
    _model_name: model,
    _view_module: module(viewModule),
    _view_module_version: version(viewModule),
    _view_name: view,
  };
}

/** One widget model living in the frontend(s), mirrored here. */
export class WidgetModel {
  readonly #comm: Comm;
  readonly #state: WidgetState;
  readonly #registry: Map<string, WidgetModel>;

  private constructor(comm: Comm, state: WidgetState, registry: Map<string, WidgetModel>) {
    this.#comm = comm;
    this.#state = state;
    this.#registry = registry;
    comm.onMessage((message) => this.#onMessage(message));
    comm.onClose(() => registry.delete(comm.commId));
  }

  /** Opens a model with `state` in the frontend (its comm id is the model id). */
  static open(comms: CommSink, state: WidgetState): WidgetModel {
    const registry = registryOf(comms);
    const comm = comms.open("jupyter.widget", { state, buffer_paths: [] }, { metadata: { version: WIDGET_PROTOCOL_VERSION } });
    const model = new WidgetModel(comm, { ...state }, registry);
    registry.set(comm.commId, model);
    return model;
  }

  /** The model id, as referenced by `IPY_MODEL_<id>` and the widget-view MIME type. */
  get id(): string {
    return this.#comm.commId;
  }

  /** A reference to this model for another model's state (e.g. a child or a layout). */
  get ref(): string {
    return `IPY_MODEL_${this.id}`;
  }

  /** A copy of the current state. */
  get state(): WidgetState {
    return { ...this.#state };
  }

  /** Whether the comm is still open. */
  get closed(): boolean {
    return this.#comm.closed;
  }

  /** Changes attributes and sends only the ones that changed. */
  set(patch: WidgetState): void {
    const changed: WidgetState = {};
    for (const [key, value] of Object.entries(patch)) {
      if (this.#state[key] !== value) changed[key] = this.#state[key] = value;
    }
    if (Object.keys(changed).length > 0 && !this.#comm.closed) {
      this.#comm.send({ method: "update", state: changed, buffer_paths: [] });
    }
  }

  /** Closes the model's comm (the frontend disposes of it and its views). */
  close(): void {
    this.#registry.delete(this.id);
    if (!this.#comm.closed) this.#comm.close();
  }

  #onMessage(message: CommMessage): void {
    const data = message.data;
    if (data["method"] === "request_state") {
      this.#comm.send({ method: "update", state: { ...this.#state }, buffer_paths: [] });
    } else if (data["method"] === "update" && data["state"] !== null && typeof data["state"] === "object") {
      // A frontend edit (not expected for display-only widgets): keep the mirror in sync.
      Object.assign(this.#state, data["state"]);
    }
  }
}

const registries = new WeakMap<CommSink, Map<string, WidgetModel>>();

// The live models of one kernel session, and the control target serving them. Registered when
// the first widget opens: a frontend that connects (or reloads) afterwards can restore them.
function registryOf(comms: CommSink): Map<string, WidgetModel> {
  let registry = registries.get(comms);
  if (registry === undefined) {
    const models = (registry = new Map());
    registries.set(comms, models);
    comms.registerTarget("jupyter.widget.control", (comm) => {
      comm.onMessage((message) => {
        if (message.data["method"] !== "request_states") return;
        const states: Record<string, WidgetState> = {};
        for (const [id, model] of models) states[id] = model.state;
        comm.send({ method: "update_states", states, buffer_paths: [] });
      });
    });
  }
  return registry;
}
