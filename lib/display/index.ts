/**
 * `cluelab/display`: the display protocol and the calls that show values.
 *
 * Inside the cluelab kernel, displays go to the notebook through the sink the kernel
 * installs; elsewhere (scripts, the CLI, tests) they degrade to terminal text.
 *
 * @packageDocumentation
 */
import { toMimeBundle } from "./bundle.js";
import { getDisplaySink, type DisplayMetadata } from "./protocol.js";

export * from "./protocol.js";
export { toMimeBundle, plainText } from "./bundle.js";

/** Options of {@link display}. */
export interface DisplayOptions {
  /** Display id: displaying again with `update: true` and this id replaces the output in place. */
  id?: string;
  /** Per-MIME-type metadata, e.g. image sizes. */
  metadata?: DisplayMetadata;
  /** Replace the output shown under `id` instead of adding a new one. */
  update?: boolean;
}

/**
 * Shows `value` in the notebook (rich when it is displayable), or prints its `text/plain`
 * form when no kernel is attached.
 */
export async function display(value: unknown, options: DisplayOptions = {}): Promise<void> {
  const bundle = await toMimeBundle(value);
  const sink = getDisplaySink();
  if (sink) {
    sink.display({ bundle, metadata: options.metadata, id: options.id, update: options.update });
  } else {
    process.stdout.write(bundle["text/plain"] + "\n");
  }
}
