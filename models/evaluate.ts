// How good are the predictions? Fit a model on K random configurations of a recorded landscape
// and score it on the rest: the mean absolute percentage error over every configuration it did
// not see, averaged over several random draws of the K. This is what `paratune replay --predict K`
// and bench/models-accuracy report.

import { basename } from "node:path";
import { UserInputError } from "../src/errors.js";
import { loadLandscapeContext, sidecarPath } from "../src/landscape-context.js";
import { createRng, shuffle } from "../src/random.js";
import { loadLandscape, type Landscape } from "../src/landscape.js";
import type { Config, Observation, PerformanceModel, Prediction } from "../src/types.js";
import { createPerformanceModel } from "./index.js";
import { RooflineModel } from "./roofline.js";
import { describeConfig } from "../src/format.js";
import { insideInterval } from "./interval.js";

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
  /** Whether the measurement fell inside the prediction's 95% interval (models/interval.ts). */
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
  /** Share of held-out measurements inside their 95% interval: about 0.95 for an honest uncertainty. */
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
      return { config: p.config, measured: p.value, predicted, ape, covered: insideInterval(predicted, p.value) };
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

// The sidecar reader is shared with `paratune replay` (the bayes tuner's prior mean).
export { loadLandscapeContext, type LandscapeContext } from "../src/landscape-context.js";

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
  /** Other recordings of the grid named by the sidecar, each read as a prediction of this one. */
  replicates: ReplicateCheck[];
}

/**
 * Another recording of the same grid read as a prediction of this one: the mean absolute
 * percentage error of its values over the configurations both measured. When the recordings
 * differ only in when they were made, no model can be held to much better than this
 * (docs/measurements/2026-11-25-models.md); when a setting changed between them, it measures that too.
 */
export interface ReplicateCheck {
  file: string;
  /** Configurations with a value in both recordings. */
  shared: number;
  mape: number;
}

export function replicateCheck(landscape: Landscape, file: string): ReplicateCheck {
  const other = loadLandscape(file, { params: landscape.params.map((p) => p.name), objective: landscape.objective, direction: landscape.direction });
  let sum = 0;
  let shared = 0;
  for (const row of landscape.rows) {
    const twin = other.lookup(row.config)?.value ?? null;
    if (row.value === null || twin === null) continue;
    sum += Math.abs(twin - row.value) / Math.abs(row.value);
    shared++;
  }
  return { file, shared, mape: shared > 0 ? sum / shared : Number.NaN };
}

export function predictOnLandscape(landscape: Landscape, options: { k: number; repeats?: number; seed?: number }): LandscapeEvaluation {
  const points: MeasuredPoint[] = landscape.rows.map((r) => ({ config: r.config, value: r.value }));
  const k = options.k;
  if (!Number.isInteger(k) || k < 0 || k >= points.length) {
    throw new UserInputError(`--predict must be an integer from 0 to ${points.length - 1} (the landscape has ${points.length} configurations), got ${k}`);
  }
  // Models predict a throughput; for a minimised objective (latency) the roofline does not apply.
  // Other recordings of the grid compare whatever the direction.
  const sidecar = loadLandscapeContext(landscape.source);
  const context = landscape.direction === "maximize" ? sidecar : {};
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
    replicates: (sidecar.replicates ?? []).map((f) => {
      try {
        return replicateCheck(landscape, f);
      } catch (err) {
        if (!(err instanceof UserInputError)) throw err;
        throw new UserInputError(`${sidecarPath(landscape.source)} names ${f} in "replicates": ${err.message}`, err.hint);
      }
    }),
  };
}

export function renderLandscapeEvaluation(e: LandscapeEvaluation): string {
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  const lines = [
    `landscape ${e.landscape}: ${e.configurations} configurations, objective ${e.objective}`,
    `fitted on K=${e.k} random configurations, scored on the rest, ${e.repeats} draws`,
    `mean absolute percentage error ${pct(e.mape)} (draws ${pct(e.mapeRange[0])}-${pct(e.mapeRange[1])}); ${pct(e.coverage)} of measurements inside the 95% interval`,
    `models that answered: ${Object.entries(e.sources).map(([s, n]) => `${s} (${n})`).join(", ")}`,
  ];
  if (e.prior) {
    lines.push(
      `roofline before any trial: error ${pct(e.prior.mape)}; picks ${describeConfig(e.prior.pick.picked)} which measured ${e.prior.pick.measured} = ${pct(e.prior.pick.fractionOfBest)} of the best (${describeConfig(e.prior.pick.best)}: ${e.prior.pick.bestMeasured})`,
    );
  } else {
    lines.push("no roofline: the landscape's .meta.json has no hardware profile and model info");
  }
  for (const r of e.replicates) {
    lines.push(
      r.shared > 0
        ? `another recording of this grid (${basename(r.file)}), read as a prediction of this one: error ${pct(r.mape)} on ${r.shared} shared configurations`
        : `another recording of this grid (${basename(r.file)}) shares no measured configuration with this one`,
    );
  }
  return `${lines.join("\n")}\n`;
}
