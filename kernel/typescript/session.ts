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
 */
import { join } from "node:path";
import type * as TS from "typescript";
import { ts } from "./ts.js";
import type { CompleteReply, ErrorContent, InspectReply } from "../protocol/messages.js";
import { mentionedNames, topLevelDeclarations, type BindingKind, type Declared } from "./declarations.js";
import { locate, typeErrorContent, warningText, WARNING_CODES, type Located } from "./diagnostics.js";
import { CellHost } from "./host.js";
import { replTransformer } from "./transform.js";
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

interface Slot {
  code: string;
  /** Earlier names this slot imports, with how they are re-declared. */
  imports: Map<string, BindingKind>;
  /** Names the kernel exports for this slot (shrinks when later cells declare them again). */
  exports: Set<string>;
}

export class CellSession {
  private readonly host: CellHost;
  private readonly service: TS.LanguageService;
  private readonly slots: Slot[] = [];
  private slotCapacity = 0;
  /** Every visible name → the slot that declares it and its kind. */
  private readonly visible = new Map<string, { slot: number; kind: BindingKind }>();
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
    this.service.getProgram()?.emit(this.service.getProgram()?.getSourceFile(this.scratch), () => {}, undefined, false, { after: [replTransformer(code.length)] });
  }

  /** Checks a cell; when it is clean, compiles it and makes its declarations visible to later cells. */
  compile(code: string): CompileResult {
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
    program.emit(
      program.getSourceFile(name),
      (fileName, text) => {
        if (fileName.endsWith(".map")) sourceMap = text;
        else js = text;
      },
      undefined,
      false,
      { after: [replTransformer(code.length)] },
    );
    js = js.replace(/\n\/\/# sourceMappingURL=.*\s*$/, "\n");
    this.commit(index, code, declared, imports);
    return { ok: true, cell: index, js, sourceMap, warnings: warnings.map(warningText) };
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

  private commit(index: number, code: string, declared: Declared[], imports: Map<string, BindingKind>): void {
    const exports = new Set(declared.filter((d) => d.exportable && !d.exported).map((d) => d.name));
    this.slots.push({ code, imports, exports });
    const touched = new Set<number>();
    for (const d of declared) {
      const previous = this.visible.get(d.name);
      if (previous && previous.slot !== index) {
        this.slots[previous.slot - 1]!.exports.delete(d.name);
        touched.add(previous.slot);
      }
      if (d.exportable) this.visible.set(d.name, { slot: index, kind: d.kind });
      else this.visible.delete(d.name);
    }
    for (const slot of touched) {
      const s = this.slots[slot - 1]!;
      this.host.setFile(this.file(`${PREFIX}cell${slot}`), s.code + this.tail(s.code, [], s.imports, s.exports));
    }
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
