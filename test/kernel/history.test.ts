import assert from "node:assert/strict";
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FileHistory, globToRegExp, jupyterDataDir } from "../../kernel/protocol/history.js";

const fresh = () => join(mkdtempSync(join(tmpdir(), "cluelab-history-")), "cluelab", "history.jsonl");

describe("history", () => {
  it("answers tail, range and search, with or without outputs", () => {
    const h = new FileHistory(fresh());
    h.append(1, "const a = 1", null);
    h.append(2, "a + 1", "2");
    h.append(3, "a + 2", "3");
    h.append(4, "a + 1", "2");
    assert.deepEqual(h.query({ hist_access_type: "tail", n: 2 }), [
      [h.session, 3, "a + 2"],
      [h.session, 4, "a + 1"],
    ]);
    assert.deepEqual(h.query({ hist_access_type: "tail", n: 1, output: true }), [[h.session, 4, ["a + 1", "2"]]]);
    assert.deepEqual(h.query({ hist_access_type: "range", session: 0, start: 2, stop: 4 }).map((r) => r[1]), [2, 3]);
    assert.deepEqual(h.query({ hist_access_type: "range", session: h.session, start: 3 }).map((r) => r[1]), [3, 4]);
    assert.deepEqual(h.query({ hist_access_type: "search", pattern: "a +*" }).map((r) => r[1]), [2, 3, 4]);
    assert.deepEqual(h.query({ hist_access_type: "search", pattern: "a +*", unique: true }).map((r) => r[1]), [3, 4]);
    assert.deepEqual(h.query({ hist_access_type: "search", pattern: "a +*", n: 1 }).map((r) => r[1]), [4]);
    assert.deepEqual(h.query({ hist_access_type: "search", pattern: "nothing*" }), []);
  });

  it("is kept across kernel restarts: a new kernel gets the next session number and sees older ones", () => {
    const path = fresh();
    const first = new FileHistory(path);
    first.append(1, "x = 1", null);
    const second = new FileHistory(path);
    assert.equal(second.session, first.session + 1);
    second.append(1, "y = 2", null);
    assert.deepEqual(second.query({ hist_access_type: "tail", n: 10 }), [
      [first.session, 1, "x = 1"],
      [second.session, 1, "y = 2"],
    ]);
    assert.deepEqual(second.query({ hist_access_type: "range", session: -1 }), [[first.session, 1, "x = 1"]]);
  });

  it("skips a torn line left by a killed kernel", () => {
    const path = fresh();
    new FileHistory(path).append(1, "ok", null);
    appendFileSync(path, '{"s":1,"l":2,"i":"half');
    const h = new FileHistory(path);
    assert.deepEqual(h.query({ hist_access_type: "tail", n: 10 }).map((r) => r[2]), ["ok"]);
  });

  it("keeps working in memory when the file cannot be written, and says why", () => {
    const dir = mkdtempSync(join(tmpdir(), "cluelab-history-ro-"));
    mkdirSync(join(dir, "locked"));
    chmodSync(join(dir, "locked"), 0o500);
    const log: string[] = [];
    const h = new FileHistory(join(dir, "locked", "sub", "history.jsonl"), (line) => log.push(line));
    h.append(1, "still here", null);
    assert.deepEqual(h.query({ hist_access_type: "tail", n: 1 }).map((r) => r[2]), ["still here"]);
    if (process.getuid?.() !== 0) assert.match(log.join("\n"), /cannot write/);
  });

  it("writes one JSON line per entry", () => {
    const path = fresh();
    const h = new FileHistory(path);
    h.append(1, "a\nb", "out");
    const lines = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.at(-1), { s: h.session, l: 1, i: "a\nb", o: "out" });
  });

  it("matches patterns with SQLite GLOB semantics, as IPython's history search does", () => {
    assert.ok(globToRegExp("1?2*").test("1+2 and more"));
    assert.ok(!globToRegExp("1?2*").test("12"));
    assert.ok(globToRegExp("[ab]x").test("bx"));
    assert.ok(globToRegExp("[^ab]x").test("cx"));
    assert.ok(globToRegExp("a.b").test("a.b"));
    assert.ok(!globToRegExp("a.b").test("axb"));
    assert.ok(globToRegExp("*(x)*").test("f(x) + 1"));
  });

  it("finds the Jupyter data folder as jupyter_core does", () => {
    assert.equal(jupyterDataDir({ JUPYTER_DATA_DIR: "/d" }), "/d");
    if (process.platform === "linux") {
      assert.equal(jupyterDataDir({ XDG_DATA_HOME: "/x" }), "/x/jupyter");
    }
  });
});
