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
 * - the kernel's own lines after the user's code (see session.ts) are removed.
 */
import type * as TS from "typescript";
import { ts } from "./ts.js";

/** `Symbol.for` key of the global function the runtime installs to import modules for cells. */
export const IMPORT_FUNCTION = "cluelab.kernel.import";
/** `Symbol.for` key of the global object standing for `import.meta` in cells. */
export const IMPORT_META = "cluelab.kernel.importMeta";

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

/**
 * The `after` transformer for one cell whose user code ends at `codeLength` in its file.
 */
export function replTransformer(codeLength: number): TS.TransformerFactory<TS.SourceFile> {
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
      if (ts.isImportDeclaration(node)) return convertImport(node);
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

    return (file) => f.updateSourceFile(file, file.statements.flatMap(statement));
  };
}
