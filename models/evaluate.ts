// How good are the predictions? Fit a model on K random configurations of a recorded landscape
// and score it on the rest: the mean absolute percentage error over every configuration it did
// not see, averaged over several random draws of the K. This is what `paratune replay --predict K`
// and bench/models-accuracy report.

import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { UserInputError } from "../src/errors.js";
import { createRng, shuffle } from "../src/random.js";
import type { Landscape } from "../src/replay.js";
import type { Config, HardwareProfile, ModelInfo, Observation, PerformanceModel, Prediction } from "../src/types.js";
import { createPerformanceModel } from "./index.js";
import { RooflineModel } from "./roofline.js";

/** A measured configuration: value null when the trial failed (it teaches, but cannot be scored). */
export interface MeasuredPoint {
  config: Config;
  value: number | null;
}

export interface PredictionCheck {
  config: Config;
  measured: number;
  predicted: Prediction;
  /** |predicted - measured| / measured. */
  ape: number;
  /** Whether the measurement fell inside the mean +- 2 std interval. */
  covered: boolean;
}

export interface SplitEvaluation {
  seed: number;
  trained: number;
  tested: number;
  mape: number;
  /** Which model answered (the factory may switch models with the data). */
  sources: string[];
  checks: PredictionCheck[];
}

export interface PredictionEvaluation {
  k: number;
  /** Configurations with a measured value, i.e. what can be scored. */
  scorable: number;
  splits: SplitEvaluation[];
  /** Mean over splits of each split's MAPE, as a fraction (splits with nothing to fit on left out). */
  mape: number;
  /** Smallest and largest split MAPE. */
  mapeRange: [number, number];
  /** Share of held-out measurements inside mean +- 2 std: about 0.95 for an honest uncertainty. */
  coverage: number;
}

export interface EvaluateOptions {
  k: number;
  /** Random draws of the K training configurations (default 10). */
  repeats?: number;
  seed?: number;
}

export function toObservation(p: MeasuredPoint): Observation {
  return { config: p.config, status: p.value === null ? "failed" : "ok", value: p.value };
}

/**
 * Fits a fresh model from `createModel` on K configurations drawn at random (failed ones included,
 * as a tuner would have seen them) and scores it on every other configuration with a value.
 */
export function evaluatePredictions(points: MeasuredPoint[], createModel: () => PerformanceModel, options: EvaluateOptions): PredictionEvaluation {
  const k = Math.floor(options.k);
  const scorable = points.filter((p) => p.value !== null && p.value > 0).length;
  if (k < 0 || k >= points.length) throw new RangeError(`K must be between 0 and ${points.length - 1} for a landscape of ${points.length} configurations`);
  const repeats = Math.max(1, options.repeats ?? 10);
  const baseSeed = options.seed ?? 1;
  const splits: SplitEvaluation[] = [];
  for (let r = 0; r < repeats; r++) {
    const seed = baseSeed + r;
    const order = shuffle(createRng(seed), points);
    const train = order.slice(0, k);
    const test = order.slice(k).filter((p): p is MeasuredPoint & { value: number } => p.value !== null && p.value > 0);
    const model = createModel();
    model.fit(train.map(toObservation));
    // A draw whose K configurations all failed leaves a model without a number to start from
    // (no roofline): nothing can be scored on it, and it says so by an empty split.
    try {
      model.predict(test[0]?.config ?? train[0].config);
    } catch {
      splits.push({ seed, trained: train.length, tested: 0, mape: Number.NaN, sources: [], checks: [] });
      continue;
    }
    const checks = test.map((p): PredictionCheck => {
      const predicted = model.predict(p.config);
      const ape = Math.abs(predicted.mean - p.value) / p.value;
      return { config: p.config, measured: p.value, predicted, ape, covered: Math.abs(predicted.mean - p.value) <= 2 * predicted.std };
    });
    const mape = checks.length > 0 ? checks.reduce((s, c) => s + c.ape, 0) / checks.length : Number.NaN;
    splits.push({ seed, trained: train.length, tested: checks.length, mape, sources: [...new Set(checks.map((c) => c.predicted.source))], checks });
  }
  const mapes = splits.map((s) => s.mape).filter(Number.isFinite);
  if (mapes.length === 0) throw new UserInputError(`every draw of ${k} configurations had no successful one to fit on`, "give a larger K");
  const all = splits.flatMap((s) => s.checks);
  return {
    k,
    scorable,
    splits,
    mape: mapes.reduce((a, b) => a + b, 0) / Math.max(1, mapes.length),
    mapeRange: [Math.min(...mapes), Math.max(...mapes)],
    coverage: all.length > 0 ? all.filter((c) => c.covered).length / all.length : Number.NaN,
  };
}

export interface PickCheck {
  /** The configuration the model ranks first among all of the landscape's configurations. */
  picked: Config;
  predicted: number;
  /** What the pick really measured (0 when it failed). */
  measured: number;
  best: Config;
  bestMeasured: number;
  /** measured / best measured: 1 means the model picked the true best. */
  fractionOfBest: number;
}

/** Which configuration a model would pick with no trials, and how it measured against the true best. */
export function checkPick(points: MeasuredPoint[], model: PerformanceModel): PickCheck {
  const withValue = points.filter((p): p is MeasuredPoint & { value: number } => p.value !== null && p.value > 0);
  if (withValue.length === 0) throw new Error("the landscape has no successful configuration");
  const best = withValue.reduce((a, b) => (b.value > a.value ? b : a));
  let picked = points[0];
  let predicted = -Infinity;
  for (const p of points) {
    const m = model.predict(p.config).mean;
    if (m > predicted) {
      predicted = m;
      picked = p;
    }
  }
  const measured = picked.value ?? 0;
  return { picked: picked.config, predicted, measured, best: best.config, bestMeasured: best.value, fractionOfBest: measured / best.value };
}

/** What the roofline needs to know about where a landscape was recorded. */
export interface LandscapeContext {
  hardware?: HardwareProfile;
  models?: ModelInfo[];
  /** Average context per sequence during decode in the recording (prompt + half the generation). */
  contextTokens?: number;
  /** The parameter fields and objective, when the sidecar names them. */
  params?: string[];
  objective?: string;
}

/**
 * Reads the sidecar `<landscape>.meta.json` next to a landscape, if any. Its `hardware` is a
 * HardwareProfile or the path of one (from `paratune probe --json`) relative to the sidecar;
 * `models` are ModelInfo objects, one per quant. A landscape without them can still be scored,
 * only without the roofline.
 */
export function loadLandscapeContext(landscapeFile: string): LandscapeContext {
  const metaFile = landscapeFile.replace(/\.jsonl$/, "") + ".meta.json";
  if (!existsSync(metaFile)) return {};
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(readFileSync(metaFile, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new UserInputError(`cannot read ${metaFile}: ${(err as Error).message}`, "the sidecar must be one JSON object");
  }
  const out: LandscapeContext = {};
  if (typeof meta.hardware === "string") {
    const file = resolve(dirname(metaFile), meta.hardware);
    try {
      out.hardware = JSON.parse(readFileSync(file, "utf8")) as HardwareProfile;
    } catch (err) {
      throw new UserInputError(`cannot read the hardware profile ${file} named by ${metaFile}: ${(err as Error).message}`);
    }
  } else if (meta.hardware && typeof meta.hardware === "object" && "cpu" in meta.hardware) {
    out.hardware = meta.hardware as HardwareProfile;
  }
  if (Array.isArray(meta.models) && meta.models.every((m) => m && typeof m === "object" && "weightBytes" in m)) out.models = meta.models as ModelInfo[];
  if (typeof meta.contextTokens === "number") out.contextTokens = meta.contextTokens;
  if (Array.isArray(meta.params)) out.params = meta.params.map(String);
  if (typeof meta.objective === "string") out.objective = meta.objective;
  return out;
}

/** `paratune replay --predict K`: the models' accuracy on one landscape, in one object. */
export interface LandscapeEvaluation {
  landscape: string;
  objective: string;
  configurations: number;
  k: number;
  repeats: number;
  /** Whether the sidecar gave the hardware profile and model info the roofline needs. */
  roofline: boolean;
  /** Mean absolute percentage error on the held-out configurations, mean over the K-draws. */
  mape: number;
  mapeRange: [number, number];
  coverage: number;
  /** Models that answered, with how many held-out predictions each made. */
  sources: Record<string, number>;
  /** The roofline before any trial: its error on every configuration and the one it would pick. */
  prior: { mape: number; pick: PickCheck } | null;
}

export function predictOnLandscape(landscape: Landscape, options: { k: number; repeats?: number; seed?: number }): LandscapeEvaluation {
  const points: MeasuredPoint[] = landscape.rows.map((r) => ({ config: r.config, value: r.value }));
  const k = options.k;
  if (!Number.isInteger(k) || k < 0 || k >= points.length) {
    throw new UserInputError(`--predict must be an integer from 0 to ${points.length - 1} (the landscape has ${points.length} configurations), got ${k}`);
  }
  // Models predict a throughput; for a minimised objective (latency) the roofline does not apply.
  const context = landscape.direction === "maximize" ? loadLandscapeContext(landscape.source) : {};
  const withRoofline = Boolean(context.hardware && context.models);
  const options_ = { hardware: context.hardware, models: context.models, contextTokens: context.contextTokens, space: landscape.space };
  if (k === 0 && !withRoofline) {
    throw new UserInputError(
      `${landscape.source}: without a hardware profile and model info nothing can predict before a trial`,
      "give --predict 1 or more, or add hardware and models to the landscape's .meta.json sidecar (docs/models.md)",
    );
  }
  const ev = evaluatePredictions(points, () => createPerformanceModel(options_), { k, repeats: options.repeats, seed: options.seed });
  const sources: Record<string, number> = {};
  for (const check of ev.splits.flatMap((sp) => sp.checks)) {
    const name = check.predicted.source.replace(/ \((calibrated on|fitted on) \d+\)$/, "").replace(/ \(.*fitted on \d+\)$/, "");
    sources[name] = (sources[name] ?? 0) + 1;
  }
  let prior: LandscapeEvaluation["prior"] = null;
  if (withRoofline) {
    const roofline = new RooflineModel({ hardware: context.hardware!, models: context.models!, contextTokens: context.contextTokens });
    const scored = points.filter((p): p is MeasuredPoint & { value: number } => p.value !== null && p.value > 0);
    const mape = scored.reduce((sum, p) => sum + Math.abs(roofline.predict(p.config).mean - p.value) / p.value, 0) / scored.length;
    prior = { mape, pick: checkPick(points, roofline) };
  }
  return {
    landscape: landscape.source,
    objective: landscape.objective,
    configurations: points.length,
    k,
    repeats: ev.splits.length,
    roofline: withRoofline,
    mape: ev.mape,
    mapeRange: ev.mapeRange,
    coverage: ev.coverage,
    sources,
    prior,
  };
}

export function renderLandscapeEvaluation(e: LandscapeEvaluation): string {
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  const key = (c: Config) => Object.entries(c).map(([k, v]) => `${k}=${v}`).join(" ");
  const lines = [
    `landscape ${e.landscape}: ${e.configurations} configurations, objective ${e.objective}`,
    `fitted on K=${e.k} random configurations, scored on the rest, ${e.repeats} draws`,
    `mean absolute percentage error ${pct(e.mape)} (draws ${pct(e.mapeRange[0])}-${pct(e.mapeRange[1])}); ${pct(e.coverage)} of measurements inside the 95% interval`,
    `models that answered: ${Object.entries(e.sources).map(([s, n]) => `${s} (${n})`).join(", ")}`,
  ];
  if (e.prior) {
    lines.push(
      `roofline before any trial: error ${pct(e.prior.mape)}; picks ${key(e.prior.pick.picked)} which measured ${e.prior.pick.measured} = ${pct(e.prior.pick.fractionOfBest)} of the best (${key(e.prior.pick.best)}: ${e.prior.pick.bestMeasured})`,
    );
  } else {
    lines.push("no roofline: the landscape's .meta.json has no hardware profile and model info");
  }
  return `${lines.join("\n")}\n`;
}
