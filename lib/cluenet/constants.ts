/** Constant tensors a module reuses across calls (coordinate grids, fold masks), freed with the model. */
import { tf } from "../engine/index.js";

export class ConstantCache {
  readonly #tensors = new Map<string, tf.Tensor>();

  /** The tensor cached under `key`, made by `make` the first time (kept out of any tidy scope). */
  get<T extends tf.Tensor>(key: string, make: () => T): T {
    let t = this.#tensors.get(key);
    if (!t) {
      t = tf.keep(tf.tidy(make));
      this.#tensors.set(key, t);
    }
    return t as T;
  }

  dispose(): void {
    for (const t of this.#tensors.values()) t.dispose();
    this.#tensors.clear();
  }
}
