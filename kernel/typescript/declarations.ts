/**
 * The names a cell declares at its top level, found syntactically. They become visible to later
 * cells, and a later cell that declares the same name replaces them (as in a REPL).
 */
import type * as TS from "typescript";
import { ts } from "./ts.js";

/**
 * How a later cell sees the name: `const`/`let`/`var` bindings are re-declared there with the
 * same kind (so `let` stays assignable and narrowable, `const` does not); everything else
 * (functions, classes, types, enums, namespaces, imports) is imported as it is.
 */
export type BindingKind = "const" | "let" | "var" | "other";

export interface Declared {
  name: string;
  kind: BindingKind;
  /** Already exported by the cell itself (`export const x`), so the kernel must not export it again. */
  exported: boolean;
  /** `using` declarations cannot be exported; they are visible in their own cell only. */
  exportable: boolean;
}

function hasModifier(node: TS.Node, kind: TS.SyntaxKind): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node)?.some((m) => m.kind === kind) ?? false);
}

/** Every identifier a declaration's name binds (destructuring patterns walked), appended to `out`. */
export function bindingNames(name: TS.BindingName, out: string[] = []): string[] {
  if (ts.isIdentifier(name)) out.push(name.text);
  else for (const element of name.elements) if (ts.isBindingElement(element)) bindingNames(element.name, out);
  return out;
}

/** Top-level declarations of a parsed cell, in source order, each name once (the last wins). */
export function topLevelDeclarations(file: TS.SourceFile): Declared[] {
  const found = new Map<string, Declared>();
  const add = (name: string, kind: BindingKind, exported: boolean, exportable = true) => {
    found.delete(name);
    found.set(name, { name, kind, exported, exportable });
  };
  for (const statement of file.statements) {
    const exported = hasModifier(statement, ts.SyntaxKind.ExportKeyword) && !hasModifier(statement, ts.SyntaxKind.DefaultKeyword);
    if (ts.isVariableStatement(statement)) {
      const flags = statement.declarationList.flags;
      const using = (flags & ts.NodeFlags.Using) !== 0;
      const kind: BindingKind = flags & ts.NodeFlags.Const || using ? "const" : flags & ts.NodeFlags.Let ? "let" : "var";
      for (const declaration of statement.declarationList.declarations) {
        for (const name of bindingNames(declaration.name)) add(name, kind, exported, !using);
      }
    } else if (
      (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) &&
      statement.name !== undefined
    ) {
      add(statement.name.text, "other", exported);
    } else if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement) || ts.isEnumDeclaration(statement)) {
      add(statement.name.text, "other", exported);
    } else if (ts.isModuleDeclaration(statement) && ts.isIdentifier(statement.name) && !(statement.flags & ts.NodeFlags.GlobalAugmentation)) {
      add(statement.name.text, "other", exported);
    } else if (ts.isImportDeclaration(statement) && statement.importClause) {
      const clause = statement.importClause;
      if (clause.name) add(clause.name.text, "other", false);
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) add(bindings.name.text, "other", false);
      else if (bindings) for (const element of bindings.elements) add(element.name.text, "other", false);
    } else if (ts.isImportEqualsDeclaration(statement)) {
      add(statement.name.text, "other", exported);
    }
  }
  return [...found.values()];
}

/**
 * Every identifier the cell mentions (a superset of the earlier names it can refer to). Only
 * those are imported into the cell's file: checking an import costs time, and a notebook's
 * hundredth cell should not pay for the ninety-nine names it does not use.
 */
export function mentionedNames(file: TS.SourceFile): Set<string> {
  const names = new Set<string>();
  const visit = (node: TS.Node): void => {
    if (ts.isIdentifier(node)) names.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return names;
}
