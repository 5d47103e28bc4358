/** The type checker of cells, in-process: declarations across cells, diagnostics, imports, completions. */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { OWN_DECLARATIONS, typeRoots } from "../../kernel/paths.js";
import { CellSession, type CompileResult } from "../../kernel/typescript/session.js";
import { isComplete } from "../../kernel/typescript/completeness.js";
import { codePointsToUtf16, utf16ToCodePoints } from "../../kernel/typescript/positions.js";
import { notebookFolder } from "./helpers/notebook.js";

let session: CellSession;

/** Every cell of these tests runs as execution count 7 (what messages name). */
function ok(code: string): Extract<CompileResult, { ok: true }> {
  const result = session.compile(code, 7);
  assert.ok(result.ok, `expected ${JSON.stringify(code)} to compile, got ${JSON.stringify(!result.ok && result.error)}`);
  return result;
}

function fails(code: string, pattern: RegExp): Extract<CompileResult, { ok: false }> {
  const result = session.compile(code, 7);
  assert.ok(!result.ok, `expected ${JSON.stringify(code)} to fail`);
  assert.match(result.error.evalue, pattern);
  return result;
}

describe("cell type checker", () => {
  before(() => {
    session = new CellSession({ directory: notebookFolder(), paths: OWN_DECLARATIONS, typeRoots: typeRoots(), globals: "declare function prompt(message?: string): string | null;\n" });
    session.warm();
  });

  it("carries declarations across cells and lets a later cell declare a name again", () => {
    ok("const x = 1;\nfunction double(n: number) { return n * 2 }\nclass Point { constructor(public x: number) {} }\ninterface Named { name: string }\ntype Id = number;");
    ok("const y: number = double(x);\nconst p = new Point(y);\nconst n: Named = { name: 'a' };\nconst id: Id = p.x;");
    ok("const x = 'now a string';\nx.toUpperCase()");
    fails("x.toFixed(2)", /Property 'toFixed' does not exist on type '"now a string"'/);
    ok("class Point { constructor(public label: string) {} }\nnew Point('a').label");
    fails("new Point(1)", /not assignable to parameter of type 'string'/);
  });

  it("keeps `let` assignable and narrowable in later cells, and `const` read-only", () => {
    ok("let count: number | undefined = undefined;");
    ok("count = 5;\ncount.toFixed(1)");
    ok("count = undefined;");
    fails("const frozen = 1;\nfrozen = 2;", /Cannot assign to 'frozen' because it is a constant/);
    ok("const frozen2 = 1;");
    fails("frozen2 = 2", /Cannot assign to 'frozen2' because it is a constant/);
  });

  it("names the cell line and column of a type error, with a code frame", () => {
    const { error } = fails("const a = 1;\nconst b: string = a;", /^line 2, column 7: Type 'number' is not assignable to type 'string'/);
    assert.equal(error.ename, "TSError");
    assert.deepEqual(error.traceback, [
      "TS2322 at line 2, column 7: Type 'number' is not assignable to type 'string'.",
      "  2 | const b: string = a;",
      "    |       ^",
    ]);
  });

  it("reports syntax errors, also where an unterminated comment or template runs past the cell", () => {
    fails("const a = ;", /^line 1, column 11: Expression expected/);
    fails("const b = 1;\n/* never closed", /^line 2, column \d+: '\*\/' expected/);
    fails("const c = `never closed", /Unterminated template literal/);
  });

  it("does not declare the names of a cell that failed to check", () => {
    fails("const notDeclared = 1;\nconst bad: string = 2;", /not assignable/);
    fails("notDeclared", /Cannot find name 'notDeclared'/);
  });

  it("marks the names a cell binds at run time, and takes back those a failed cell did not bind", () => {
    ok("const keepA = 1;");
    const failing = ok("throw new Error('before');\nconst keepA = 'two';\nlet freshB = 2;\nclass FreshC {}\nfunction hoisted() { return 1 }\ninterface TypeOnly { a: number }");
    const bound = 'globalThis[Symbol.for("cluelab.kernel.bound")]';
    assert.ok(failing.js.startsWith(`const {} = ${bound}(${failing.cell}, []);`), failing.js);
    assert.match(failing.js, new RegExp(`const keepA = 'two';\\nconst \\{\\} = ${bound.replace(/[[\]().]/g, "\\$&")}\\(${failing.cell}, \\["keepA"\\]\\);`));
    assert.match(failing.js, /class FreshC \{\n\}\nconst \{\} = .*\["FreshC"\]\);/);
    assert.doesNotMatch(failing.js, /\["hoisted"\]/, "a function is bound before the cell runs: no mark");
    // The cell started, but threw before any declaration ran.
    session.settle(failing.cell, true, []);
    assert.equal(ok("keepA.toFixed(0)").ok, true, "keepA is the earlier cell's number again");
    fails("freshB", /Cannot find name 'freshB'/);
    fails("new FreshC()", /Cannot find name 'FreshC'/);
    ok("const h: number = hoisted();\nconst t: TypeOnly = { a: 1 };");
    ok("let freshB = 'declared again';\nfreshB.toUpperCase()");
  });

  it("takes back every declaration of a cell that never started", () => {
    const never = ok("var neverRan = 1;\nfunction neverFn() {}");
    session.settle(never.cell, false, []);
    fails("neverFn()", /Cannot find name 'neverFn'/);
    ok("let neverRan = 'lexical now';\nconst neverFn = 2;");
  });

  it("refuses, with what to do, a declaration JavaScript cannot make after an earlier cell's", () => {
    ok("var legacy = 1;\nfunction helper() { return 1 }\nlet modern = 1;\nenum Colour { Red }");
    const letAfterVar = fails("let legacy = 2;", /^line 1, column 1: 'legacy' was declared with var in cell \[7\], .* let cannot declare it again\. Declare it with var again, assign it \(legacy = …\), or choose another name\.$/);
    assert.equal(letAfterVar.error.ename, "SyntaxError");
    assert.deepEqual(letAfterVar.error.traceback.slice(1), ["  1 | let legacy = 2;", "    | ^^^"]);
    fails("const helper = 2;", /'helper' was declared with function in cell \[7\].*Declare it with function or var again/);
    fails("class Colour {}", /'Colour' was declared with enum in cell \[7\]/);
    fails("helper();\nfunction modern() {}", /^line 2, column 1: 'modern' was declared with let in cell \[7\], and JavaScript cannot declare a name that let, const, class or import declared again with function\. Declare it with let, const or class again/);
    fails("var modern = 2;", /declared with let in cell \[7\]/);
    ok("var legacy = 3;\nfunction helper() { return 2 }\nconst modern = 'const now';\nlegacy = 4;");
  });

  it("checks top-level await and Node's types", () => {
    ok("const answer = await Promise.resolve(42);\nimport { readFileSync } from 'node:fs';\nconst size: number = readFileSync('/etc/hostname').length;");
    fails("const s: string = answer", /Type 'number' is not assignable to type 'string'/);
  });

  it("resolves ESM-only and CommonJS packages from the notebook's node_modules, and types an untyped one as any with a warning", () => {
    ok("import { greet } from 'esm-only-pkg';\nimport cjs from 'cjs-pkg';\nimport { add } from 'cjs-pkg';\nconst s: string = greet('x') + add(1, 2) + cjs.add(1, 2);");
    ok("greet('again'); add(3, 4);");
    const untyped = ok("import untyped from 'untyped-pkg';\nuntyped.anything.goes");
    assert.equal(untyped.warnings.length, 1);
    assert.match(untyped.warnings[0]!, /^warning TS7016 at line 1, column 21: Could not find a declaration file for module 'untyped-pkg'[\s\S]*typed `any`/);
    fails("import nothing from 'no-such-package';", /Cannot find module 'no-such-package'/);
  });

  it("maps cluelab, cluelab/display and tslab to the kernel's own declarations", () => {
    ok("import { tf } from 'cluelab';\nconst t: tf.Tensor = tf.tensor([1, 2]).square();");
    ok("import { display, html } from 'cluelab/display';\nconst h = display(html('<b>x</b>'));\nh.update(html('<i>y</i>'));");
    ok("import * as tslab from 'tslab';\ntslab.display.markdown('*x*');\ntslab.newDisplay().text('t');");
  });

  it("compiles imports to the kernel's importer and drops `export`, keeping user code otherwise as written", () => {
    const { js } = ok("import * as ns from 'esm-only-pkg';\nimport def, { add as plus } from 'cjs-pkg';\nexport const shown = plus(1, 2);\nexport default shown;\nconst lazy = await import('esm-only-pkg');\nimport.meta.dirname;");
    assert.match(js, /const ns = await globalThis\[Symbol\.for\("cluelab\.kernel\.import"\)\]\('esm-only-pkg'\);/);
    assert.match(js, /const \{ default: def, add: plus \} = await globalThis\[Symbol\.for\("cluelab\.kernel\.import"\)\]\('cjs-pkg'\);/);
    assert.match(js, /^const shown = plus\(1, 2\);$/m);
    assert.match(js, /^shown;$/m);
    assert.match(js, /const lazy = await globalThis\[Symbol\.for\("cluelab\.kernel\.import"\)\]\('esm-only-pkg'\);/);
    assert.match(js, /globalThis\[Symbol\.for\("cluelab\.kernel\.importMeta"\)\]\.dirname;/);
    assert.doesNotMatch(js, /__cluelab_session|^export|^import /m);
  });

  it("keeps an import that only later cells use", () => {
    const { js } = ok("import * as unusedHere from 'esm-only-pkg';");
    assert.match(js, /const unusedHere = await/);
    ok("unusedHere.greet('later')");
  });

  it("completes members, earlier cells' names and imports, filtered by the typed prefix", () => {
    assert.deepEqual(session.complete("Math.ab", 7).matches, ["abs"]);
    ok("const zzFirst = 1;\nconst zzSecond = 'two';");
    const locals = session.complete("zz", 2);
    assert.deepEqual(locals.matches.sort(), ["zzFirst", "zzSecond"]);
    assert.deepEqual([locals.cursor_start, locals.cursor_end], [0, 2]);
    assert.ok(session.complete("import { gr } from 'esm-only-pkg'", 11).matches.includes("greet"));
    assert.ok(session.complete("zzSecond.toUpp", 14).matches.includes("toUpperCase"));
    assert.ok(!session.complete("zz", 2).matches.some((m) => m.startsWith("__cluelab")));
  });

  it("counts cursor positions in code points", () => {
    const code = "const s = '🎉';\nzzF";
    const points = [...code].length;
    const reply = session.complete(code, points);
    assert.deepEqual(reply.matches, ["zzFirst"]);
    assert.deepEqual([reply.cursor_start, reply.cursor_end], [points - 3, points]);
    assert.equal(codePointsToUtf16("a🎉b", 2), 3);
    assert.equal(utf16ToCodePoints("a🎉b", 3), 2);
  });

  it("inspects the name under the cursor with its signature and TSDoc", () => {
    const reply = session.inspect("greet", 3, 0);
    assert.ok(reply.found);
    assert.match(String(reply.data["text/plain"]), /greet\(name: string\): string/);
    assert.match(String(reply.data["text/plain"]), /Greets someone\./);
    assert.equal(session.inspect("   ", 1, 0).found, false);
  });

  it("says whether code is complete, incomplete or invalid", () => {
    for (const code of ["1", "const a = 1", "function f() { return 1 }", ""]) assert.equal(isComplete(code).status, "complete", code);
    for (const code of ["function f() {", "const a = [1,", "`template", "/* comment", "foo(", "if (x) {\n  y();"]) {
      assert.equal(isComplete(code).status, "incomplete", code);
    }
    assert.equal(isComplete("function f() {").indent, "  ");
    for (const code of ["const = ;", "1 +* 2", "let 5x = 1", "let s = 'abc"]) assert.equal(isComplete(code).status, "invalid", code);
  });

  it("keeps working past its first block of cell slots", () => {
    for (let i = 0; i < 40; i++) ok(`const many${i % 3}: number = ${i};`);
    ok("many0 + many1 + many2");
  });
});
