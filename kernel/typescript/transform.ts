/**
 * Turns a checked cell module into a script for V8's REPL mode, where top-level `const`, `let`
 * and `class` persist between evaluations and may be declared again, and top-level `await`
 * works. Runs after TypeScript's own transforms (types erased, type-only imports elided):
 *
 * - `import x, { a as b } from "m"` → `const { default: x, a: b } = await <import>("m")`, where
 *   `<import>` is the kernel's resolver (the notebook's folder, and `cluelab`/`tslab` mapped to
 *   the kernel's own copies); `import("m")` and `import.meta` go through the kernel too;
 * - `export` is dropped (a notebook has no importers): `export const x` → `const x`,
 *   `export default e` → `e`, `export { … }` → nothing;
 * - the kernel's own lines after the user's code (see session.ts) are removed;
 * - marks record which top-level names the cell really bound: one at the start (the script got
 *   past its declarations' instantiation) and one after each statement that declares names at
 *   run time, `const {} = <bound>(slot, ["x", "y"]);` (a declaration, so the cell's result, its
 *   last expression statement's value, stays the same). A cell that throws before a `const`
 *   ran leaves the name unbound (or bound to an earlier cell's value), and the checker must see
 *   that too (session.ts `settle`).
 */
import type * as TS from "typescript";
import { BOUND_FUNCTION, IMPORT_FUNCTION, IMPORT_META } from "../runtime/cell-globals.js";
import { bindingNames } from "./declarations.js";
import { ts } from "./ts.js";


/** How JavaScript declares a top-level name: `var`/`function` on the global object, or lexically. */
export type RuntimeKind = "var" | "lexical";

/** A top-level name the compiled cell declares at run time. */
export interface RuntimeDeclaration {
  name: string;
  kind: RuntimeKind;
  /** The TypeScript keyword that declared it: var, let, const, function, class, enum, namespace, import, … */
  keyword: string;
  /** Offset of the declaring statement in the cell. */
  start: number;
  /** Bound only if the mark after its statement runs (all but function declarations, which are hoisted). */
  marked: boolean;
}

/** What compiling a cell found out about its run-time names (filled by the transformer). */
export interface CompiledNames {
  declarations: RuntimeDeclaration[];
}

/**
 * `globalThis[Symbol.for(key)]`, built from synthesized nodes: nodes parsed from another file
 * would reach the checker during printing, which expects parse-tree nodes of this program.
 */
function runtimeGlobal(f: TS.NodeFactory, key: string): TS.Expression {
  const symbolFor = f.createCallExpression(f.createPropertyAccessExpression(f.createIdentifier("Symbol"), "for"), undefined, [f.createStringLiteral(key)]);
  return f.createElementAccessExpression(f.createIdentifier("globalThis"), symbolFor);
}

function stripExport(modifiers: readonly TS.ModifierLike[] | undefined): TS.ModifierLike[] | undefined {
  const kept = modifiers?.filter((m) => m.kind !== ts.SyntaxKind.ExportKeyword && m.kind !== ts.SyntaxKind.DefaultKeyword);
  return kept && kept.length > 0 ? kept : undefined;
}

/** The keyword of an original (pre-transform) declaration statement. */
function keywordOf(node: TS.Node): string {
  if (ts.isImportDeclaration(node)) return "import";
  if (ts.isEnumDeclaration(node)) return "enum";
  if (ts.isModuleDeclaration(node)) return "namespace";
  if (ts.isFunctionDeclaration(node)) return "function";
  if (ts.isClassDeclaration(node)) return "class";
  if (ts.isVariableStatement(node)) {
    const flags = node.declarationList.flags;
    return flags & ts.NodeFlags.Const ? "const" : flags & ts.NodeFlags.Let ? "let" : flags & ts.NodeFlags.Using ? "using" : "var";
  }
  return "var";
}

/**
 * The `after` transformer for one cell whose user code ends at `codeLength` in its file; `slot`
 * names the cell in its marks, and `names` receives its run-time declarations.
 */
export function replTransformer(codeLength: number, slot: number, names: CompiledNames): TS.TransformerFactory<TS.SourceFile> {
  return (context) => {
    const f = context.factory;
    const importCall = (specifier: TS.Expression, options?: TS.Expression) =>
      f.createAwaitExpression(f.createCallExpression(runtimeGlobal(f, IMPORT_FUNCTION), undefined, options ? [specifier, options] : [specifier]));

    const deep = (node: TS.Node): TS.Node => {
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        return f.createCallExpression(runtimeGlobal(f, IMPORT_FUNCTION), undefined, ts.visitNodes(node.arguments, deep, ts.isExpression));
      }
      if (ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword) return runtimeGlobal(f, IMPORT_META);
      return ts.visitEachChild(node, deep, context);
    };

    const convertImport = (node: TS.ImportDeclaration): TS.Statement[] => {
      const attributes = node.attributes
        ? f.createObjectLiteralExpression([
            f.createPropertyAssignment(
              "with",
              f.createObjectLiteralExpression(node.attributes.elements.map((a) => f.createPropertyAssignment(a.name, a.value))),
            ),
          ])
        : undefined;
      const load = importCall(node.moduleSpecifier, attributes);
      const clause = node.importClause;
      if (!clause) return [f.createExpressionStatement(load)];
      const declare = (name: TS.BindingName, init: TS.Expression) =>
        f.createVariableStatement(undefined, f.createVariableDeclarationList([f.createVariableDeclaration(name, undefined, undefined, init)], ts.NodeFlags.Const));
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) {
        const statements = [declare(bindings.name, load)];
        if (clause.name) statements.push(declare(clause.name, f.createPropertyAccessExpression(bindings.name, "default")));
        return statements;
      }
      const elements: TS.BindingElement[] = [];
      if (clause.name) elements.push(f.createBindingElement(undefined, "default", clause.name));
      for (const element of bindings?.elements ?? []) {
        elements.push(f.createBindingElement(undefined, element.propertyName, element.name));
      }
      if (elements.length === 0) return [f.createExpressionStatement(load)];
      return [declare(f.createObjectBindingPattern(elements), load)];
    };

    const statement = (node: TS.Statement): TS.Statement[] => {
      const original = ts.getOriginalNode(node);
      if (original.pos >= 0 && original.end > codeLength) return []; // the kernel's own lines
      // The import's position names the converted statements (in marks, errors and source maps).
      if (ts.isImportDeclaration(node)) return convertImport(node).map((converted) => ts.setOriginalNode(converted, node));
      if (ts.isExportDeclaration(node)) return [];
      if (ts.isExportAssignment(node)) return [f.createExpressionStatement(deep(node.expression) as TS.Expression)];
      if (ts.isVariableStatement(node)) {
        const visited = deep(node) as TS.VariableStatement;
        return [f.updateVariableStatement(visited, stripExport(visited.modifiers) as TS.Modifier[] | undefined, visited.declarationList)];
      }
      if (ts.isFunctionDeclaration(node)) {
        const visited = deep(node) as TS.FunctionDeclaration;
        if (!visited.name) {
          // `export default function () {}`: a value, not a declaration.
          return [f.createExpressionStatement(f.createFunctionExpression(stripExport(visited.modifiers) as TS.Modifier[] | undefined, visited.asteriskToken, undefined, visited.typeParameters, visited.parameters, visited.type, visited.body ?? f.createBlock([])))];
        }
        return [f.updateFunctionDeclaration(visited, stripExport(visited.modifiers), visited.asteriskToken, visited.name, visited.typeParameters, visited.parameters, visited.type, visited.body)];
      }
      if (ts.isClassDeclaration(node)) {
        const visited = deep(node) as TS.ClassDeclaration;
        if (!visited.name) {
          return [f.createExpressionStatement(f.createClassExpression(stripExport(visited.modifiers), undefined, visited.typeParameters, visited.heritageClauses, visited.members))];
        }
        return [f.updateClassDeclaration(visited, stripExport(visited.modifiers), visited.name, visited.typeParameters, visited.heritageClauses, visited.members)];
      }
      return [deep(node) as TS.Statement];
    };

    const mark = (bound: string[]) =>
      f.createVariableStatement(
        undefined,
        f.createVariableDeclarationList(
          [
            f.createVariableDeclaration(
              f.createObjectBindingPattern([]),
              undefined,
              undefined,
              f.createCallExpression(runtimeGlobal(f, BOUND_FUNCTION), undefined, [
                f.createNumericLiteral(slot),
                f.createArrayLiteralExpression(bound.map((name) => f.createStringLiteral(name))),
              ]),
            ),
          ],
          ts.NodeFlags.Const,
        ),
      );

    /** Records the names `emitted` declares at run time; returns those that need a mark after it. */
    const declares = (emitted: TS.Statement, source: TS.SourceFile): string[] => {
      const original = ts.getOriginalNode(emitted);
      const start = original.pos >= 0 ? original.getStart(source) : 0;
      const keyword = keywordOf(original);
      const add = (name: string, kind: RuntimeKind, marked = true) => names.declarations.push({ name, kind, keyword, start, marked });
      if (ts.isFunctionDeclaration(emitted) && emitted.name) {
        add(emitted.name.text, "var", false); // hoisted and initialized before the cell runs: no mark
        return [];
      }
      let declared: string[] = [];
      let kind: RuntimeKind = "lexical";
      if (ts.isClassDeclaration(emitted) && emitted.name) declared = [emitted.name.text];
      else if (ts.isVariableStatement(emitted)) {
        declared = emitted.declarationList.declarations.flatMap((d) => bindingNames(d.name));
        if (!(emitted.declarationList.flags & ts.NodeFlags.BlockScoped)) kind = "var";
      }
      for (const name of declared) add(name, kind);
      return declared;
    };

    return (file) => {
      const source = ts.getOriginalNode(file) as TS.SourceFile;
      const statements: TS.Statement[] = [mark([])];
      for (const emitted of file.statements.flatMap(statement)) {
        statements.push(emitted);
        const bound = declares(emitted, source);
        if (bound.length > 0) statements.push(mark(bound));
      }
      return f.updateSourceFile(file, statements);
    };
  };
}
