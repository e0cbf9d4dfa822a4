// Functions fit on a screen: none in src/, models/, tuners/ or probes/ runs past MAX_LINES unless a
// comment right above it says why, starting "long-function:", or it is in ALLOWED below (for a
// function being restructured; say by whom it is expected to shrink, and take it out when it has).
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { sources as sourcesUnder } from "./testing/source-files.js";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const MAX_LINES = 80;

/** "file#name" of functions allowed to be long for now, with the reason. */
const ALLOWED: Record<string, string> = {};

export interface LongFunction {
  id: string;
  lines: number;
}

const sources = (dir: string) => sourcesUnder(ROOT, dir);

function nameOf(node: ts.Node): string {
  const own = (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node)) && node.name
    ? node.name.getText()
    : ts.isConstructorDeclaration(node)
      ? "constructor"
      : ts.isVariableDeclaration(node.parent) || ts.isPropertyAssignment(node.parent) || ts.isPropertyDeclaration(node.parent)
        ? node.parent.name.getText()
        : "<anonymous>";
  const cls = ts.findAncestor(node.parent, ts.isClassLike);
  return cls?.name && !ts.isFunctionDeclaration(node) ? `${cls.name.getText()}.${own}` : own;
}

/** The comments above a function, or above the statement or property that holds it. */
function leadingComments(node: ts.Node, text: string): string {
  let holder: ts.Node = node;
  while (holder.parent && !ts.isSourceFile(holder.parent) && !ts.isBlock(holder.parent) && !ts.isClassLike(holder.parent) && !ts.isObjectLiteralExpression(holder.parent)) {
    holder = holder.parent;
  }
  const ranges = ts.getLeadingCommentRanges(text, holder.getFullStart()) ?? [];
  return ranges.map((r) => text.slice(r.pos, r.end)).join("\n");
}

/** Every function of the file longer than `max` lines that no "long-function:" comment explains. */
export function longFunctions(file: string, text: string, max = MAX_LINES): LongFunction[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: LongFunction[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.end).line;
      const lines = end - start + 1;
      if (lines > max && !/long-function:\s*\S/.test(leadingComments(node, text))) found.push({ id: `${file}#${nameOf(node)}`, lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe("function length", () => {
  it(`keeps every function within ${MAX_LINES} lines, or says why`, () => {
    const long = ["src", "models", "tuners", "probes"]
      .flatMap(sources)
      .flatMap((f) => longFunctions(f, readFileSync(join(ROOT, f), "utf8")))
      .filter((f) => !(f.id in ALLOWED));
    expect(long.map((f) => `${f.id}: ${f.lines} lines`)).toEqual([]);
  });

  it("lists in ALLOWED only functions that are still long", () => {
    const all = ["src", "models", "tuners", "probes"].flatMap(sources).flatMap((f) => longFunctions(f, readFileSync(join(ROOT, f), "utf8")));
    const stale = Object.keys(ALLOWED).filter((id) => !all.some((f) => f.id === id));
    expect(stale, "take these out of ALLOWED in src/function-length.test.ts").toEqual([]);
  });

  it("measures a function and honours a comment that says why (the check itself)", () => {
    const body = Array.from({ length: 85 }, (_, i) => `  const v${i} = ${i};`).join("\n");
    const plain = `export function big(): void {\n${body}\n}\n`;
    expect(longFunctions("x.ts", plain)).toEqual([{ id: "x.ts#big", lines: 87 }]);
    const explained = `// long-function: one table of cases reads best in one place\n${plain}`;
    expect(longFunctions("x.ts", explained)).toEqual([]);
    const method = `class A {\n  run(): void {\n${body}\n  }\n}\n`;
    expect(longFunctions("x.ts", method).map((f) => f.id)).toEqual(["x.ts#A.run"]);
  });
});
