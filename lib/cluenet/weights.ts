/**
 * Weights in the official layout: a model's parameters as a PyTorch state_dict (official names,
 * OIHW / [out, in] layouts) read from and written to `.safetensors` files, all or nothing.
 */
import { readFile } from "node:fs/promises";
import { tf } from "../engine/index.js";
import { parseSafetensors, toFloat32, writeSafetensors, type Module, type Safetensors } from "../nn/index.js";

/** Tensors by official name: a parsed safetensors file, or plain arrays in the official layout. */
export type StateSource = Safetensors | Map<string, { shape: readonly number[]; data: Float32Array }>;

/** A state_dict that does not fit the model; lists every problem at once. Nothing was loaded. */
export class WeightsError extends Error {
  override name = "WeightsError";

  constructor(
    message: string,
    readonly missing: string[],
    readonly unexpected: string[],
    readonly mismatched: Array<{ name: string; expected: number[]; found: number[] | string }>,
  ) {
    super(message);
  }
}

/** Reads a `.safetensors` file (path) or parses bytes. */
export async function readWeights(source: string | Uint8Array): Promise<Safetensors> {
  if (typeof source === "string") {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(source);
    } catch (error) {
      throw new Error(`cannot read weights from ${source}: ${(error as Error).message}`);
    }
    return parseSafetensors(bytes, source);
  }
  return parseSafetensors(source);
}

/** Shape of a named tensor in a source, or its non-float dtype. */
function describe(source: StateSource, name: string): { shape: number[]; dtype: string } | undefined {
  if (source instanceof Map) {
    const t = source.get(name);
    return t && { shape: [...t.shape], dtype: "F32" };
  }
  const t = source.tensors.get(name);
  return t && { shape: t.shape, dtype: t.dtype };
}

function names(source: StateSource): string[] {
  return [...(source instanceof Map ? source.keys() : source.tensors.keys())];
}

const FLOAT_DTYPES = new Set(["F32", "F16", "BF16", "F64"]);

/**
 * Checks every tensor of `source` against the model's parameters (names, shapes, float types)
 * and throws one {@link WeightsError} listing all problems; only then converts and assigns them.
 */
export async function loadState(model: Module & { config?: { name: string } }, source: StateSource, what: string): Promise<void> {
  const expected = model.namedParameters();
  const expectedNames = new Set(expected.map(([n]) => n));
  const present = names(source);
  const missing = expected.map(([n]) => n).filter((n) => describe(source, n) === undefined);
  const unexpected = present.filter((n) => !expectedNames.has(n));
  const mismatched: WeightsError["mismatched"] = [];
  for (const [name, p] of expected) {
    const found = describe(source, name);
    if (!found) continue;
    const want = p.officialShape;
    if (!FLOAT_DTYPES.has(found.dtype)) mismatched.push({ name, expected: want, found: found.dtype });
    else if (found.shape.length !== want.length || found.shape.some((d, i) => d !== want[i])) mismatched.push({ name, expected: want, found: found.shape });
  }
  if (missing.length + unexpected.length + mismatched.length > 0) {
    throw new WeightsError(explain(model.config?.name ?? "the model", what, missing, unexpected, mismatched), missing, unexpected, mismatched);
  }
  // Convert everything before touching a variable, so a failure cannot leave a half-loaded model.
  const values = expected.map(([name, p]) => {
    const data = source instanceof Map ? source.get(name)!.data : toFloat32(name, source.tensors.get(name)!);
    return tf.tidy(() => p.layout.fromOfficial(tf.tensor(data, p.officialShape, "float32"), p.shape));
  });
  expected.forEach(([, p], i) => p.variable.assign(values[i]!));
  tf.dispose(values);
}

function explain(model: string, what: string, missing: string[], unexpected: string[], mismatched: WeightsError["mismatched"]): string {
  const lines = [`${what} does not fit ${model}; nothing was loaded.`];
  const list = (title: string, items: string[]): void => {
    if (items.length === 0) return;
    const shown = items.slice(0, 40);
    lines.push(`${title} (${items.length}):`, ...shown.map((s) => `  ${s}`));
    if (items.length > shown.length) lines.push(`  … and ${items.length - shown.length} more`);
  };
  list("missing", missing);
  list("unexpected", unexpected);
  list(
    "wrong shape or type",
    mismatched.map((m) => `${m.name}: the model has [${m.expected.join(", ")}], the file ${typeof m.found === "string" ? `holds ${m.found}` : `[${m.found.join(", ")}]`}`),
  );
  const hints: string[] = [];
  const head = mismatched.find((m) => m.name === "head.weight" && Array.isArray(m.found));
  if (head && Array.isArray(head.found)) hints.push(`the file's head has ${head.found[0]} classes: pass { numClasses: ${head.found[0]} }`);
  const stem = mismatched.find((m) => m.name === "patch_embed.proj.weight" && Array.isArray(m.found));
  if (stem && Array.isArray(stem.found)) hints.push(`the file's stem takes ${stem.found[1]! - 2} image channels (+2 coordinates): pass { inChannels: ${stem.found[1]! - 2} }`);
  if (unexpected.some((n) => n.startsWith("module."))) hints.push(`names start with "module." (saved from DataParallel): strip that prefix when converting (scripts/pth-to-safetensors.py does)`);
  if (missing.some((n) => n.includes(".q.")) && unexpected.some((n) => n.includes(".q."))) hints.push("the assignment sharing or block layout differs: check the shareAssignment option");
  if (hints.length > 0) lines.push("hint:", ...hints.map((h) => `  ${h}`));
  return lines.join("\n");
}

/** The parameters in the official layout, in state_dict order. */
export async function officialState(model: Module): Promise<Array<[string, { shape: number[]; data: Float32Array }]>> {
  const out: Array<[string, { shape: number[]; data: Float32Array }]> = [];
  for (const [name, p] of model.namedParameters()) {
    const t = p.layout.toOfficial(p.variable);
    try {
      out.push([name, { shape: p.officialShape, data: (await t.data()) as Float32Array }]);
    } finally {
      t.dispose();
    }
  }
  return out;
}

/** Writes the parameters as a `.safetensors` state_dict. */
export async function saveState(model: Module, file: string, metadata: Record<string, string>): Promise<void> {
  await writeSafetensors(file, await officialState(model), metadata);
}
