// How well do the performance models predict? For every recorded landscape (fixtures/landscapes/
// and models/data/, or the files given): the mean absolute percentage error on the configurations
// not seen after fitting on K random ones (K = 0, 4, 8, 16), per model and for the adaptive choice,
// the share of held-out measurements inside the 95% interval, and the configuration the roofline
// picks before any trial against the true best.
//
//   node dist/bench/models-accuracy.js [landscape.jsonl ...] [--repeats 20] [--seed 1] [--json]
//
// A landscape's parameters and objective come from its .meta.json sidecar ("params", "objective")
// or default to the parameter fields found among workers, threads, sequences, batch, quant,
// gpuLayers, and decodeTps. The roofline needs "hardware" and "models" in the sidecar.

import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readFileSync } from "node:fs";
import { parseLandscape, type Landscape } from "../src/landscape.js";
import type { PerformanceModel } from "../src/types.js";
import { checkPick, evaluatePredictions, type MeasuredPoint } from "../models/evaluate.js";
import { loadLandscapeContext, type LandscapeContext } from "../src/landscape-context.js";
import { createPerformanceModel } from "../models/index.js";
import { pessimisticParams, RooflineModel } from "../models/roofline.js";
import { SurrogateModel } from "../models/surrogate.js";
import { UslModel } from "../models/usl.js";

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    repeats: { type: "string", default: "20" },
    k: { type: "string", default: "0,4,8,16" },
    seed: { type: "string", default: "1" },
    json: { type: "boolean", default: false },
  },
});
const repeats = Number(args.repeats);
// The draws of K use seeds seed .. seed + repeats - 1: another --seed is an independent check.
const seed = Number(args.seed);
if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${args.seed}`);
const ks = args.k!.split(",").map(Number);
const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const CANDIDATE_PARAMS = ["workers", "threads", "sequences", "batch", "quant", "gpuLayers"];

function landscapes(): string[] {
  if (positionals.length > 0) return positionals.map((p) => resolve(p));
  const out: string[] = [];
  for (const dir of [join(root, "fixtures", "landscapes"), join(root, "models", "data")]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) if (f.endsWith(".jsonl")) out.push(join(dir, f));
  }
  return out;
}

function load(file: string): { landscape: Landscape; context: LandscapeContext } {
  const context = loadLandscapeContext(file);
  const text = readFileSync(file, "utf8");
  const first = JSON.parse(text.split("\n").find((l) => l.trim() !== "")!) as Record<string, unknown>;
  // Keep only parameters that vary: a fixed batch or quant carries no information.
  const varying = CANDIDATE_PARAMS.filter((p) => p in first);
  const params = context.params ?? varying;
  const landscape = parseLandscape(text, file, { params, objective: context.objective ?? "decodeTps" });
  return { landscape, context };
}

const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : "-");
const results: unknown[] = [];

for (const file of landscapes()) {
  const { landscape, context } = load(file);
  const points: MeasuredPoint[] = landscape.rows.map((r) => ({ config: r.config, value: r.value }));
  const hasRoofline = Boolean(context.hardware && context.models);
  const roofline = () => new RooflineModel({ hardware: context.hardware!, models: context.models!, contextTokens: context.contextTokens });
  const factories: Record<string, () => PerformanceModel> = {
    adaptive: () => createPerformanceModel({ hardware: context.hardware, models: context.models, contextTokens: context.contextTokens, space: landscape.space }),
    ...(hasRoofline ? { roofline } : {}),
    // A stand-in for a machine the prior does not know: every constant off by 2x (bandwidth
    // fraction and FLOP/s halved, every cost doubled), then calibrated on K trials.
    ...(hasRoofline
      ? {
          "prior/2": () =>
            new RooflineModel({
              hardware: context.hardware!,
              models: context.models!,
              contextTokens: context.contextTokens,
              params: pessimisticParams(2, context.models!),
            }),
        }
      : {}),
    usl: () => new UslModel({ usableCpus: context.hardware?.limits.cpus }),
    surrogate: () => new SurrogateModel(landscape.space, hasRoofline ? roofline() : null),
  };
  const rel = file.startsWith(root) ? file.slice(root.length + 1) : file;
  const scorable = points.filter((p) => p.value !== null).length;
  const table: Record<string, Record<number, { mape: number; coverage: number }>> = {};
  for (const [name, make] of Object.entries(factories)) {
    table[name] = {};
    for (const k of ks) {
      if (k >= points.length || (k === 0 && name !== "roofline" && name !== "prior/2" && !(name === "adaptive" && hasRoofline)) || (k < 2 && name === "surrogate" && !hasRoofline)) continue;
      if (k === 0 && name === "surrogate") continue;
      try {
        const ev = evaluatePredictions(points, make, { k, repeats: k === 0 ? 1 : repeats, seed });
        table[name][k] = { mape: ev.mape, coverage: ev.coverage };
      } catch {
        // every draw of K had no successful configuration: nothing to report for this K
      }
    }
  }
  let pick: ReturnType<typeof checkPick> | null = null;
  let priorHeldOut: number | null = null;
  if (hasRoofline) {
    const r = roofline();
    pick = checkPick(points, r);
    // The prior's constants were set from single-worker rows of the Xeon landscape: its error on
    // the multi-worker rows is the part of that landscape it was not tuned on.
    const multi = points.filter((p): p is MeasuredPoint & { value: number } => p.value !== null && Number(p.config.workers ?? 1) > 1);
    if (multi.length > 0) priorHeldOut = multi.reduce((s, p) => s + Math.abs(r.predict(p.config).mean - p.value) / p.value, 0) / multi.length;
  }
  results.push({ landscape: rel, configurations: points.length, scorable, roofline: hasRoofline, mape: table, priorMapeMultiWorker: priorHeldOut, pick });
  if (args.json) continue;
  process.stdout.write(`\n${rel}: ${points.length} configurations (${scorable} measured), objective ${landscape.objective}${hasRoofline ? "" : ", no hardware/model sidecar: no roofline"}\n`);
  process.stdout.write(`  MAPE on held-out configurations (95%-interval coverage), mean of ${repeats} random draws of K:\n`);
  process.stdout.write(`  ${"model".padEnd(10)}${ks.map((k) => `K=${k}`.padEnd(18)).join("")}\n`);
  for (const [name, row] of Object.entries(table)) {
    process.stdout.write(`  ${name.padEnd(10)}${ks.map((k) => (row[k] ? `${pct(row[k].mape)} (${pct(row[k].coverage)})` : "-").padEnd(18)).join("")}\n`);
  }
  if (pick) {
    const key = (c: Record<string, unknown>) => Object.entries(c).map(([k, v]) => `${k}=${v}`).join(" ");
    process.stdout.write(`  roofline pick before any trial: ${key(pick.picked)} measured ${pick.measured} = ${pct(pick.fractionOfBest)} of the best (${key(pick.best)}: ${pick.bestMeasured})\n`);
    if (priorHeldOut !== null) process.stdout.write(`  roofline prior MAPE on multi-worker configurations: ${pct(priorHeldOut)}\n`);
  }
}
if (args.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
