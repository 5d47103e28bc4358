/**
 * A minimal module system: a tree of named modules holding TensorFlow.js variables, whose dotted
 * names are the official PyTorch state_dict keys (`network.0.blocks.0.mlp.fc1.weight`).
 */
import { tf } from "../engine/index.js";
import type { Initializer } from "./init.js";
import { WeightLayout } from "./layout.js";
import type { Rng } from "./rng.js";

/** A learnable tensor and how it maps to the official layout. */
export class Parameter {
  constructor(
    readonly variable: tf.Variable,
    readonly layout: WeightLayout,
  ) {}

  get shape(): number[] {
    return this.variable.shape;
  }

  get size(): number {
    return this.variable.size;
  }

  /** The parameter's shape in the official (PyTorch) layout. */
  get officialShape(): number[] {
    return this.layout.officialShape(this.variable.shape);
  }
}

export abstract class Module {
  readonly #params = new Map<string, Parameter>();
  readonly #children = new Map<string, Module>();

  /** Registers and initialises a parameter named `name` (a leaf of the official key). */
  protected param(
    name: string,
    shape: number[],
    init: Initializer,
    rng: Rng,
    layout: WeightLayout = WeightLayout.same,
  ): tf.Variable {
    if (this.#params.has(name) || this.#children.has(name)) throw new Error(`duplicate parameter name "${name}"`);
    const size = shape.reduce((a, b) => a * b, 1);
    const variable = tf.tidy(() => tf.variable(tf.tensor(init(size, rng), shape, "float32"), true));
    this.#params.set(name, new Parameter(variable, layout));
    return variable;
  }

  /** Registers a child module under `name` (a segment of the official key). */
  protected module<T extends Module>(name: string, child: T): T {
    if (this.#params.has(name) || this.#children.has(name)) throw new Error(`duplicate module name "${name}"`);
    this.#children.set(name, child);
    return child;
  }

  /**
   * Every parameter with its official dotted name, in PyTorch's state_dict order (a module's own
   * parameters first, then its children in registration order).
   */
  namedParameters(prefix = ""): Array<[string, Parameter]> {
    const out: Array<[string, Parameter]> = [];
    for (const [name, p] of this.#params) out.push([prefix + name, p]);
    for (const [name, child] of this.#children) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  /** Number of learnable values. */
  countParams(): number {
    return this.namedParameters().reduce((n, [, p]) => n + p.size, 0);
  }

  /** Frees every variable of this module and its children. */
  dispose(): void {
    for (const [, p] of this.namedParameters()) p.variable.dispose();
  }
}

/** A container whose children are named by position ("0", "1", …), as nn.Sequential / nn.ModuleList. */
export class ModuleList<T extends Module = Module> extends Module {
  readonly items: T[] = [];

  /** Appends `child` under the next index, or under `index` when PyTorch skips some (e.g. activations). */
  add<U extends T>(child: U, index = this.items.length): U {
    this.items.push(child);
    return this.module(String(index), child);
  }
}
