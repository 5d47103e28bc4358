/**
 * Type-checks and compiles cells, carrying declarations from cell to cell.
 *
 * Each executed cell is a module file ("slot") in the notebook's folder (virtual: nothing is
 * written there), so imports resolve from the notebook's `node_modules`. A session module
 * re-exports every slot (`export * from "./slotN"`); each slot exports the names it declares and
 * imports from the session module the latest declaration of every earlier name it does not
 * declare itself. When a cell declares a name again, the older slot stops exporting it. So a
 * later cell sees exactly the latest declarations, as the REPL-mode runtime does.
 *
 * Why slots and not one file per cell appended to the program: TypeScript rebuilds a program's
 * structure whenever the list of root files or a file's import specifiers change (~30 ms here),
 * and reuses it completely when only file contents change (~4 ms). Slots are created in blocks,
 * each imports the session module from the start, and the kernel's synthetic lines only change
 * imported *names*, so nearly every cell is a content-only change.
 *
 * `let`/`var`/`const` bindings of earlier cells are re-declared in the later cell with the same
 * kind (`declare let x: typeof <import>`), so a later cell may assign a `let` and narrow it;
 * imports of ES modules would be read-only.
 *
 * What the checker sees follows what the runtime bound: a cell's declarations become visible
 * when it compiles (completions while it runs see them), and `settle` takes back those it did
 * not bind — a cell that threw before its `const x` ran leaves `x` as it was (unknown, or an
 * earlier cell's `x`), exactly as V8's REPL mode does. And since JavaScript cannot declare a
 * top-level name with `let`/`const`/`class` once `var`/`function` declared it (or the other way
 * round), such a cell fails here with a clear error instead of a bare SyntaxError at run time.
 */
import { join } from "node:path";
import type * as TS from "typescript";
import { ts } from "./ts.js";
import type { CompleteReply, ErrorContent, InspectReply } from "../protocol/messages.js";
import { mentionedNames, topLevelDeclarations, type BindingKind, type Declared } from "./declarations.js";
import { locate, redeclarationContent, typeErrorContent, warningText, WARNING_CODES, type Located } from "./diagnostics.js";
import { CellHost } from "./host.js";
import { replTransformer, type CompiledNames, type RuntimeDeclaration, type RuntimeKind } from "./transform.js";
import { codePointsToUtf16, utf16ToCodePoints } from "./positions.js";

const PREFIX = "__cluelab_";
const SESSION = `${PREFIX}session`;
const SLOT_BLOCK = 32;
/** A type alias of the session module's namespace type, in every slot. */
const SESSION_TYPE = `${PREFIX}session`;

export interface SessionSetup {
  /** The notebook's folder: cells resolve imports from here. */
  directory: string;
  /** Module name → declaration file, for `cluelab`, `cluelab/display`, `tslab`. */
  paths: Record<string, string>;
  /** The folder holding `@types/node` (the kernel's own). */
  typeRoots: string[];
  /** Extra ambient declarations (globals the runtime installs, e.g. `prompt`). */
  globals: string;
}

export type CompileResult =
  | { ok: true; cell: number; js: string; sourceMap: string; warnings: string[] }
  | { ok: false; error: ErrorContent };

interface Visible {
  slot: number;
  kind: BindingKind;
}

/** How a top-level name is bound at run time, and by which cell. */
interface RuntimeName {
  kind: RuntimeKind;
  keyword: string;
  executionCount: number;
}

interface Slot {
  code: string;
  /** Earlier names this slot imports, with how they are re-declared. */
  imports: Map<string, BindingKind>;
  /** Names the kernel exports for this slot (shrinks when later cells declare them again). */
  exports: Set<string>;
  /** Each name it declares → what was visible under that name before (to undo it, see settle). */
  replaced: Map<string, Visible | undefined>;
  /** Each name it binds at run time → how that name was bound before. */
  runtime: Map<string, RuntimeName | undefined>;
  /** Names bound only once the statement declaring them ran (not hoisted functions, not types). */
  marked: Set<string>;
}

export class CellSession {
  private readonly host: CellHost;
  private readonly service: TS.LanguageService;
  private readonly slots: Slot[] = [];
  private slotCapacity = 0;
  /** Every visible name → the slot that declares it and its kind. */
  private readonly visible = new Map<string, Visible>();
  /** Every top-level name cells bound at run time (var-like or lexical). */
  private readonly runtimeNames = new Map<string, RuntimeName>();
  private readonly scratch: string;
  private readonly globalsFile: string;

  constructor(private readonly setup: SessionSetup) {
    const options: TS.CompilerOptions = {
      strict: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ["lib.es2023.d.ts"],
      types: ["node"],
      typeRoots: setup.typeRoots,
      skipLibCheck: true,
      sourceMap: true,
      resolveJsonModule: true,
      esModuleInterop: true,
      noEmitOnError: false,
      paths: Object.fromEntries(Object.entries(setup.paths).map(([name, file]) => [name, [file]])),
    };
    this.host = new CellHost(setup.directory, options);
    this.service = ts.createLanguageService(this.host, ts.createDocumentRegistry());
    this.scratch = this.file(`${PREFIX}scratch`);
    this.globalsFile = join(setup.directory, `${PREFIX}globals.d.ts`);
    this.host.setFile(this.globalsFile, setup.globals);
    this.host.setFile(this.scratch, this.placeholder());
    this.growSlots();
  }

  /** Loads the standard library and Node's types and checks a small cell, so the first real cell is fast. */
  warm(): void {
    const code = 'const warm: number[] = [1, 2].map((x) => x * 2);\nconsole.log(warm.length, process.argv[0]);\n';
    this.host.setFile(this.scratch, code + this.tail(code, topLevelDeclarations(this.parse(code))));
    this.service.getSemanticDiagnostics(this.scratch);
    this.service.getCompletionsAtPosition(this.scratch, code.indexOf("warm.") + 5, {});
    const names: CompiledNames = { declarations: [] };
    this.service.getProgram()?.emit(this.service.getProgram()?.getSourceFile(this.scratch), () => {}, undefined, false, { after: [replTransformer(code.length, 0, names)] });
  }

  /**
   * Checks a cell; when it is clean, compiles it and makes its declarations visible to later
   * cells. `executionCount` names the cell in later messages.
   */
  compile(code: string, executionCount = 0): CompileResult {
    const index = this.slots.length + 1;
    if (index > this.slotCapacity) this.growSlots();
    const name = this.file(`${PREFIX}cell${index}`);
    const parsed = this.parse(code);
    const declared = topLevelDeclarations(parsed);
    const imports = this.importsFor(declared, mentionedNames(parsed));
    this.host.setFile(name, code + this.tail(code, declared, imports));

    let { errors, warnings } = this.diagnose(name, code);
    if (errors.some((e) => e.code === 2307 || e.code === 2792)) {
      // "Cannot find module": maybe installed since the file system was cached; look again once.
      this.host.forgetFileSystem();
      ({ errors, warnings } = this.diagnose(name, code));
    }
    if (errors.length > 0) {
      this.host.setFile(name, this.placeholder());
      return { ok: false, error: typeErrorContent(errors) };
    }

    const program = this.service.getProgram()!;
    let js = "";
    let sourceMap = "";
    const names: CompiledNames = { declarations: [] };
    program.emit(
      program.getSourceFile(name),
      (fileName, text) => {
        if (fileName.endsWith(".map")) sourceMap = text;
        else js = text;
      },
      undefined,
      false,
      { after: [replTransformer(code.length, index, names)] },
    );
    const conflicts = this.redeclarations(names.declarations);
    if (conflicts.length > 0) {
      this.host.setFile(name, this.placeholder());
      return { ok: false, error: redeclarationContent(conflicts, code) };
    }
    js = js.replace(/\n\/\/# sourceMappingURL=.*\s*$/, "\n");
    this.commit(index, code, declared, imports, names, executionCount);
    return { ok: true, cell: index, js, sourceMap, warnings: warnings.map(warningText) };
  }

  /**
   * After cell `cell` ran into an error or was interrupted: takes back the declarations it did
   * not bind. `ran` is false when it never started (then nothing of it counts); otherwise
   * `bound` lists the names whose declaring statements ran.
   */
  settle(cell: number, ran: boolean, bound: readonly string[]): void {
    const slot = this.slots[cell - 1];
    if (!slot) return;
    const touched = new Set<number>();
    const done = new Set(bound);
    for (const name of [...slot.replaced.keys()]) {
      if (!ran || (slot.marked.has(name) && !done.has(name))) this.unbind(cell, name, touched);
    }
    if (!ran) {
      for (const [name, previous] of slot.runtime) {
        if (previous) this.runtimeNames.set(name, previous);
        else this.runtimeNames.delete(name);
      }
      slot.runtime.clear();
    }
    this.rewrite(touched);
  }

  /** Completions at `cursor` (code points) in a cell that has not run yet. */
  complete(code: string, cursor: number): CompleteReply {
    const position = codePointsToUtf16(code, cursor);
    this.host.setFile(this.scratch, code + this.tail(code, topLevelDeclarations(this.parse(code))));
    const info = this.service.getCompletionsAtPosition(this.scratch, position, {
      includeCompletionsWithInsertText: true,
      includeAutomaticOptionalChainCompletions: true,
    });
    let start = position;
    if (info?.optionalReplacementSpan) start = info.optionalReplacementSpan.start;
    else while (start > 0 && /[\p{ID_Continue}$\u200c\u200d]/u.test(code[start - 1]!)) start--;
    const prefix = code.slice(start, position);
    const lower = prefix.toLowerCase();
    const entries = (info?.entries ?? [])
      .filter((e) => !e.name.startsWith(PREFIX) && e.name.toLowerCase().startsWith(lower))
      .sort((a, b) => Number(!b.name.startsWith(prefix)) - Number(!a.name.startsWith(prefix)) || a.sortText.localeCompare(b.sortText) || a.name.localeCompare(b.name));
    const cursorStart = utf16ToCodePoints(code, start);
    return {
      matches: entries.map((e) => e.name),
      cursor_start: cursorStart,
      cursor_end: cursor,
      metadata: {
        _jupyter_types_experimental: entries.map((e) => ({ start: cursorStart, end: cursor, text: e.name, type: completionType(e.kind) })),
      },
    };
  }

  /** The type and documentation of the name at `cursor` (code points). */
  inspect(code: string, cursor: number, detailLevel: 0 | 1): InspectReply {
    const position = codePointsToUtf16(code, cursor);
    this.host.setFile(this.scratch, code + this.tail(code, topLevelDeclarations(this.parse(code))));
    const info =
      this.service.getQuickInfoAtPosition(this.scratch, position) ??
      (position > 0 ? this.service.getQuickInfoAtPosition(this.scratch, position - 1) : undefined);
    if (!info) return { found: false, data: {}, metadata: {} };
    const signature = ts.displayPartsToString(info.displayParts);
    const documentation = ts.displayPartsToString(info.documentation);
    const tags = (info.tags ?? []).map((tag) => `@${tag.name}${tag.text ? " " + ts.displayPartsToString(tag.text) : ""}`);
    const plain = [signature, documentation, ...(detailLevel === 1 ? tags : tags.slice(0, 4))].filter(Boolean).join("\n\n");
    const markdown = ["```typescript\n" + signature + "\n```", documentation, ...tags.map((t) => `*${t}*`)].filter(Boolean).join("\n\n");
    return { found: true, data: { "text/plain": plain, "text/markdown": markdown }, metadata: {} };
  }

  // ---- internals ----------------------------------------------------------------------------

  private file(base: string): string {
    return join(this.setup.directory, `${base}.mts`);
  }

  private parse(code: string): TS.SourceFile {
    return ts.createSourceFile("cell.mts", code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  }

  /** An empty slot: the same module specifiers as a filled one, so filling it is a content-only change. */
  private placeholder(): string {
    return `import {} from "./${SESSION}.mjs";\ntype ${SESSION_TYPE} = typeof import("./${SESSION}.mjs");\nexport {};\n`;
  }

  /** Adds a block of empty slots (rarely: this one changes the root files). */
  private growSlots(): void {
    const from = this.slotCapacity + 1;
    this.slotCapacity += SLOT_BLOCK;
    for (let i = from; i <= this.slotCapacity; i++) this.host.setFile(this.file(`${PREFIX}cell${i}`), this.placeholder());
    const reexports: string[] = [];
    for (let i = 1; i <= this.slotCapacity; i++) reexports.push(`export * from "./${PREFIX}cell${i}.mjs";`);
    const session = this.file(SESSION);
    this.host.setFile(session, reexports.join("\n") + "\n");
    const slots = Array.from({ length: this.slotCapacity }, (_, i) => this.file(`${PREFIX}cell${i + 1}`));
    this.host.setRoots([this.globalsFile, session, ...slots, this.scratch]);
  }

  /**
   * The earlier names a cell sees: every visible one it does not declare itself (only those it
   * mentions, when `mentioned` is given; completions need them all).
   */
  private importsFor(declared: Declared[], mentioned?: Set<string>): Map<string, BindingKind> {
    const own = new Set(declared.map((d) => d.name));
    const imports = new Map<string, BindingKind>();
    for (const [name, { kind }] of this.visible) if (!own.has(name) && (mentioned?.has(name) ?? true)) imports.set(name, kind);
    return imports;
  }

  /** The kernel's lines after a cell's code: imports of earlier names, exports of its own. */
  private tail(code: string, declared: Declared[], imports = this.importsFor(declared), exports?: Iterable<string>): string {
    const specifiers: string[] = [];
    const redeclared: string[] = [];
    for (const [name, kind] of imports) {
      // Bindings are typed through the namespace type, not `typeof <import>`: an identifier in a
      // type query is flow-analysed at the end of the cell, which loops back through the cell's
      // own uses of the binding ("referenced in its own type annotation").
      if (kind === "other") specifiers.push(name);
      else redeclared.push(`declare ${kind} ${name}: ${SESSION_TYPE}[${JSON.stringify(name)}];`);
    }
    const exported = [...(exports ?? declared.filter((d) => d.exportable && !d.exported).map((d) => d.name))];
    const separator = code.endsWith("\n") ? "" : "\n";
    return (
      `${separator}import { ${specifiers.join(", ")} } from "./${SESSION}.mjs";\n` +
      `type ${SESSION_TYPE} = typeof import("./${SESSION}.mjs");\n` +
      (redeclared.length > 0 ? redeclared.join("\n") + "\n" : "") +
      `export { ${exported.join(", ")} };\n`
    );
  }

  private diagnose(name: string, code: string): { errors: Located[]; warnings: Located[] } {
    const syntactic = this.service.getSyntacticDiagnostics(name);
    const errors: Located[] = [];
    const warnings: Located[] = [];
    // A syntax error past the cell's end (an unterminated comment or template swallowing the
    // kernel's lines) is the cell's: locate() places it at the cell's end.
    for (const diagnostic of syntactic) errors.push(locate(diagnostic, code));
    if (errors.length > 0) return { errors, warnings };
    for (const diagnostic of this.service.getSemanticDiagnostics(name)) {
      if (diagnostic.category !== ts.DiagnosticCategory.Error && !WARNING_CODES.has(diagnostic.code)) continue;
      if ((diagnostic.start ?? 0) > code.length) {
        // The kernel's own lines: a bookkeeping problem, not the user's; logged by the caller.
        this.onInternalDiagnostic?.(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
        continue;
      }
      (WARNING_CODES.has(diagnostic.code) ? warnings : errors).push(locate(diagnostic, code));
    }
    return { errors, warnings };
  }

  /** Called with diagnostics found in the kernel's synthetic lines (never expected). */
  onInternalDiagnostic: ((message: string) => void) | undefined;

  private commit(index: number, code: string, declared: Declared[], imports: Map<string, BindingKind>, names: CompiledNames, executionCount: number): void {
    const exports = new Set(declared.filter((d) => d.exportable && !d.exported).map((d) => d.name));
    const slot: Slot = { code, imports, exports, replaced: new Map(), runtime: new Map(), marked: new Set(names.declarations.filter((d) => d.marked).map((d) => d.name)) };
    this.slots.push(slot);
    const touched = new Set<number>();
    for (const d of declared) {
      const previous = this.visible.get(d.name);
      slot.replaced.set(d.name, previous);
      if (previous && previous.slot !== index) {
        this.slots[previous.slot - 1]!.exports.delete(d.name);
        touched.add(previous.slot);
      }
      if (d.exportable) this.visible.set(d.name, { slot: index, kind: d.kind });
      else this.visible.delete(d.name);
    }
    for (const { name, kind, keyword } of names.declarations) {
      if (!slot.runtime.has(name)) slot.runtime.set(name, this.runtimeNames.get(name));
      this.runtimeNames.set(name, { kind, keyword, executionCount });
    }
    this.rewrite(touched);
  }

  /** Makes `name` of slot `index` invisible again, and what it replaced visible. */
  private unbind(index: number, name: string, touched: Set<number>): void {
    const slot = this.slots[index - 1]!;
    const previous = slot.replaced.get(name);
    slot.replaced.delete(name);
    if (slot.exports.delete(name)) touched.add(index);
    const current = this.visible.get(name);
    if (current && current.slot !== index) return;
    if (previous) {
      this.slots[previous.slot - 1]!.exports.add(name);
      touched.add(previous.slot);
      this.visible.set(name, previous);
    } else this.visible.delete(name);
  }

  /** Writes the slots whose exports changed. */
  private rewrite(touched: Set<number>): void {
    for (const slot of touched) {
      const s = this.slots[slot - 1]!;
      this.host.setFile(this.file(`${PREFIX}cell${slot}`), s.code + this.tail(s.code, [], s.imports, s.exports));
    }
  }

  /** Declarations JavaScript would refuse at run time: `let x` after `var x`, `var x` after `let x`, … */
  private redeclarations(declarations: RuntimeDeclaration[]): Array<{ start: number; length: number; message: string }> {
    const conflicts: Array<{ start: number; length: number; message: string }> = [];
    const seen = new Set<string>();
    for (const d of declarations) {
      const earlier = this.runtimeNames.get(d.name);
      if (!earlier || earlier.kind === d.kind || seen.has(d.name)) continue;
      seen.add(d.name);
      const where = earlier.executionCount > 0 ? `cell [${earlier.executionCount}]` : "an earlier cell";
      const message =
        earlier.kind === "var"
          ? `'${d.name}' was declared with ${earlier.keyword} in ${where}, and JavaScript keeps a top-level var or function name ` +
            `(enums and namespaces compile to var) for the rest of the session: ${d.keyword} cannot declare it again. ` +
            `Declare it with ${earlier.keyword === "function" ? "function or var" : "var"} again, assign it (${d.name} = …), or choose another name.`
          : `'${d.name}' was declared with ${earlier.keyword} in ${where}, and JavaScript cannot declare a name that let, const, class ` +
            `or import declared again with ${d.keyword}. Declare it with let, const or class again, or choose another name.`;
      conflicts.push({ start: d.start, length: d.keyword.length, message });
    }
    return conflicts;
  }
}

/** Completion kinds as JupyterLab's `_jupyter_types_experimental` names them (anything else: "variable"). */
const COMPLETION_TYPES: Record<string, string> = {
  function: "function",
  "local function": "function",
  method: "method",
  construct: "method",
  call: "method",
  class: "class",
  "local class": "class",
  interface: "type",
  type: "type",
  enum: "type",
  module: "module",
  "external module name": "module",
  keyword: "keyword",
  property: "property",
  getter: "property",
  setter: "property",
};

function completionType(kind: TS.ScriptElementKind): string {
  return COMPLETION_TYPES[kind] ?? "variable";
}
