// The layers of docs/architecture.md, checked on the real sources: every import of a module in
// src/, models/, tuners/ or probes/ must point to its own layer or one below, and neither the
// modules nor the groups they form (a folder, or a single file of src/) may import in a cycle.
// Tests are left out: they may reach across layers to set up what they check.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { sources as sourcesUnder } from "./testing/source-files.js";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Bottom first. A group is a folder (ending in "/") or a file; a module belongs to the group with
 * the longest matching prefix. Keep docs/architecture.md's picture in step with this list.
 */
export const LAYERS: { name: string; groups: string[] }[] = [
  {
    name: "foundation",
    groups: [
      "src/types.ts", "src/errors.ts", "src/atomic-file.ts", "src/format.ts", "src/random.ts", "src/paths.ts", "src/version.ts",
      "src/space.ts", "src/statistics.ts", "src/separation.ts", "src/duration.ts", "src/trials.ts", "src/landscape.ts", "src/landscape-context.ts", "src/model-info.ts", "src/gpu-placement.ts", "fixtures/gguf/",
    ],
  },
  { name: "parts", groups: ["probes/", "src/workloads/", "models/", "tuners/", "src/store.ts", "src/synth.ts", "src/synth-path.ts"] },
  { name: "study", groups: ["src/tune/", "src/replay.ts"] },
  { name: "outputs", groups: ["src/outputs/", "src/tuning.ts", "src/recommend.ts", "src/recommend-command.ts", "src/recommend-predict.ts", "src/recommend-flow.ts"] },
  { name: "entry", groups: ["src/cli/", "src/index.ts"] },
];

const SCANNED = ["src", "models", "tuners", "probes"];

const sources = (dir: string) => sourcesUnder(ROOT, dir);

/** The project modules a file imports (static, dynamic and re-exports), as paths from the root. */
export function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(join(ROOT, file), "utf8"), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith("."))
    .map((spec) => relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, ".ts"));
}

function groupOf(module: string): string | undefined {
  let best: string | undefined;
  for (const layer of LAYERS) {
    for (const g of layer.groups) {
      const hit = g.endsWith("/") ? module.startsWith(g) : module === g;
      if (hit && (best === undefined || g.length > best.length)) best = g;
    }
  }
  return best;
}

function layerOf(group: string): number {
  return LAYERS.findIndex((l) => l.groups.includes(group));
}

/** Every cycle's members, from Tarjan's strongly connected components of size > 1 (or a self-loop). */
export function cycles(edges: Map<string, Set<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const members: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        members.push(w);
      } while (w !== v);
      if (members.length > 1 || edges.get(v)?.has(v)) found.push(members.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

function addEdge(edges: Map<string, Set<string>>, from: string, to: string): void {
  if (!edges.has(from)) edges.set(from, new Set());
  if (!edges.has(to)) edges.set(to, new Set());
  edges.get(from)!.add(to);
}

const modules = SCANNED.flatMap(sources);
const imports = new Map(modules.map((m) => [m, importsOf(m)]));

describe("the layers of docs/architecture.md", () => {
  it("place every module", () => {
    const loose = modules.filter((m) => groupOf(m) === undefined);
    expect(loose, "add these modules to a layer in src/architecture.test.ts and docs/architecture.md").toEqual([]);
  });

  it("have every import point down or stay in its layer", () => {
    const upward: string[] = [];
    for (const [from, targets] of imports) {
      const fromGroup = groupOf(from);
      for (const to of targets) {
        const toGroup = groupOf(to);
        if (fromGroup === undefined) continue;
        if (toGroup === undefined) {
          upward.push(`${from} -> ${to} (outside every layer)`);
        } else if (layerOf(toGroup) > layerOf(fromGroup)) {
          upward.push(`${from} (${LAYERS[layerOf(fromGroup)].name}) -> ${to} (${LAYERS[layerOf(toGroup)].name})`);
        }
      }
    }
    expect(upward).toEqual([]);
  });

  it("have no import cycle between modules", () => {
    const edges = new Map<string, Set<string>>();
    for (const [from, targets] of imports) for (const to of targets) addEdge(edges, from, to);
    expect(cycles(edges)).toEqual([]);
  });

  it("have no import cycle between groups (folders, and single files of src/)", () => {
    const edges = new Map<string, Set<string>>();
    for (const [from, targets] of imports) {
      for (const to of targets) {
        const a = groupOf(from);
        const b = groupOf(to);
        if (a && b && a !== b) addEdge(edges, a, b);
      }
    }
    expect(cycles(edges)).toEqual([]);
  });

  it("find a cycle when there is one (the check itself)", () => {
    const edges = new Map<string, Set<string>>();
    addEdge(edges, "a", "b");
    addEdge(edges, "b", "c");
    addEdge(edges, "c", "a");
    addEdge(edges, "c", "d");
    expect(cycles(edges)).toEqual([["a", "b", "c"]]);
    expect(importsOf("src/tuning.ts")).toContain("src/outputs/index.ts");
  });
});
