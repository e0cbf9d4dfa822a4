// Turns a finished study into a TuneResult: the ranking, the recommendation and its runner-up,
// their speedups over the baseline (measured, and predicted by the performance model), and how
// far the numbers can be trusted.

import { configKey } from "../space.js";
import { highestFidelityOf, highestFidelityTrials } from "../trials.js";
import type { Config, Prediction, RankedConfig, TrialRecord, TuneResult } from "../types.js";
import { FinalRace, raceConfidence, raceFromTrials, type RaceOutcome, type RaceSummary } from "./race.js";
import type { GrowthEvent, RangeEnd } from "./space-growth.js";
import { confidenceOf, marginOf } from "./confidence.js";

export { confidenceOf } from "./confidence.js";
export { RUN_TO_RUN_DRIFT } from "../separation.js";

/** What the study knows when it ends; the rest of a TuneResult is derived from it. */
export interface ResultInput
  extends Pick<TuneResult, "tuner" | "budgetMs" | "elapsedMs" | "ended" | "hardware" | "workload" | "params" | "trials" | "infeasible"> {
  baseline: Config;
  /**
   * Prediction of the objective (larger is better) for any configuration, when a model exists:
   * the model calibrated on all of the run's trials (finalPredictor), for every row and the baseline.
   */
  predict?: (config: Config) => Prediction | null;
  /** How many configurations the ranking lists. */
  rankingSize?: number;
  /** The final race: its finalists' numbers replace their earlier trials'. */
  race?: RaceOutcome | null;
  growth?: { events: GrowthEvent[]; ends: RangeEnd[] };
}

/**
 * A short trial this many times better than every full one ranks above them: its number is a
 * hint, but ranking the full trials first would then recommend a configuration the run already
 * knows is far slower (typically the baseline, when the budget could not fit a full trial of the
 * faster one).
 */
export const CLEAR_SHORT_LEAD = 1.5;

/**
 * Every configuration's standing: its trial at the highest fidelity it reached. Full-fidelity
 * results rank above short ones, because a short trial's number is a hint (few tokens, a cold
 * cache) while the recommendation must be a measurement; except a short one CLEAR_SHORT_LEAD
 * times better than the best full one, which goes first (the confidence then says it is short).
 */
export function rankTrials(trials: TrialRecord[]): TrialRecord[] {
  const ranked = [...highestFidelityTrials(trials).values()]
    .map((group) => group.reduce((a, b) => (b.id > a.id ? b : a)))
    .filter((t) => t.value !== null)
    .sort((a, b) => b.fidelity - a.fidelity || b.value! - a.value!);
  const top = ranked[0];
  if (!top) return ranked;
  const lead = (t: TrialRecord) => (t.value! > 0 && top.value! > 0 ? t.value! / top.value! : t.value! < 0 && top.value! < 0 ? top.value! / t.value! : 0);
  const clear = ranked.filter((t) => t.fidelity < top.fidelity && lead(t) >= CLEAR_SHORT_LEAD).sort((a, b) => b.value! - a.value!);
  return clear.length === 0 ? ranked : [...clear, ...ranked.filter((t) => !clear.includes(t))];
}

export function buildResult(input: ResultInput): TuneResult {
  const direction = input.workload.objective.direction;
  const ranked = rankTrials(input.trials);
  const baselineTrial = highestFidelityOf(input.trials, input.baseline, (t) => t.value !== null)[0];

  // Every prediction of the result, the baseline's included, from the one model state given:
  // never a trial's stored prediction, which each came from the model as it stood before that
  // trial, so that a ratio of two of them would mix two states of the model.
  const predictionOf = (config: Config): Prediction | null => input.predict?.(config) ?? null;
  const basePrediction = predictionOf(input.baseline);

  const rank = (t: TrialRecord): RankedConfig => {
    const predicted = predictionOf(t.config);
    return {
      config: t.config,
      fidelity: t.fidelity,
      measured: measuredOf(t, input.workload.objective),
      predicted: predicted ? inMetricUnits(predicted, direction) : null,
      speedupMeasured: speedup(t.value, baselineTrial?.value ?? null, direction),
      speedupPredicted: speedup(predicted?.mean ?? null, basePrediction?.mean ?? null, direction),
    };
  };

  const race = input.race !== undefined ? input.race : raceFromTrials(input.trials);
  const summaries = race ? new FinalRace().summarize(race.entries) : [];
  // A baseline that raced is measured like the other finalists (its race trials, at the race's
  // fidelity), so that the finalists' speedups compare like with like.
  const isBaseline = (c: Config) => configKey(c) === configKey(input.baseline);
  const baselineValue = summaries.find((s) => isBaseline(s.config))?.mean ?? baselineTrial?.value ?? null;
  const raced = raceRanking(race, summaries, ranked, rank, baselineValue, direction);
  const ranking = [...raced.ranking, ...ranked.filter((t) => !raced.keys.has(configKey(t.config))).map(rank)].slice(0, input.rankingSize ?? 20);
  const baseline: RankedConfig =
    raced.ranking.find((r) => isBaseline(r.config)) ??
    (baselineTrial
      ? rank(baselineTrial)
      : {
          config: input.baseline,
          measured: null,
          predicted: basePrediction ? inMetricUnits(basePrediction, direction) : null,
          speedupMeasured: null,
          speedupPredicted: basePrediction ? 1 : null,
        });
  const best = ranking[0] ?? null;
  const runnerUp = ranking[1] ?? null;

  return {
    version: 1,
    createdAt: new Date().toISOString(),
    tuner: input.tuner,
    budgetMs: input.budgetMs,
    elapsedMs: Math.round(input.elapsedMs),
    ended: input.ended,
    hardware: input.hardware,
    workload: input.workload,
    params: input.params,
    trials: input.trials,
    infeasible: input.infeasible,
    baseline,
    best,
    runnerUp,
    ranking,
    confidence: raced.confidence ?? confidenceOf(ranked, baselineTrial, input.workload.objective),
    ...(race ? { race: raceReport(race, direction) } : {}),
    ...(input.growth ? { growth: input.growth } : {}),
  };
}

/**
 * The race's finalists first, in the race's order, each measured by its race trials alone: the
 * earlier trial that made it a finalist was picked for reading high, so it does not count.
 */
function raceRanking(
  race: RaceOutcome | null | undefined,
  summaries: RaceSummary[],
  ranked: TrialRecord[],
  rank: (t: TrialRecord) => RankedConfig,
  baselineValue: number | null,
  direction: "maximize" | "minimize",
): { ranking: RankedConfig[]; keys: Set<string>; confidence: TuneResult["confidence"] | null } {
  // A race that measured one finalist again compared nothing: the ranking stands as the trials
  // made it (unless the others failed their race trials, which puts them out).
  const beaten = race ? race.entries.every((e) => e.values.length > 0 || e.trialIds.length > 0) : false;
  if (!race || summaries.length === 0 || (summaries.length < 2 && !beaten)) return { ranking: [], keys: new Set(), confidence: null };
  const ranking = summaries.map((s) => {
    const earlier = ranked.find((t) => configKey(t.config) === configKey(s.config));
    const entry = race.entries.find((e) => configKey(e.config) === configKey(s.config))!;
    const base = earlier ? rank(earlier) : { config: s.config, predicted: null, speedupPredicted: null };
    const unit = (v: number) => (direction === "minimize" ? -v : v);
    return {
      ...base,
      fidelity: race.fidelity,
      measured: { mean: unit(s.mean), rme: s.rme, samples: entry.values.map(unit) },
      speedupMeasured: speedup(s.mean, baselineValue, direction),
    } as RankedConfig;
  });
  return { ranking, keys: new Set(summaries.map((s) => configKey(s.config))), confidence: raceConfidence(race, summaries[0]) };
}

function raceReport(race: RaceOutcome, direction: "maximize" | "minimize"): NonNullable<TuneResult["race"]> {
  const unit = (v: number) => (direction === "minimize" ? -v : v);
  return {
    rounds: race.rounds,
    fidelity: race.fidelity,
    separated: race.separated,
    why: race.why,
    finalists: race.entries.map((e) => ({ config: e.config, values: e.values.map(unit), trialIds: e.trialIds })),
  };
}

/** A trial's objective in its own units, with the margin and samples only when they describe it. */
function measuredOf(t: TrialRecord, objective: TuneResult["workload"]["objective"]): RankedConfig["measured"] {
  if (t.value === null) return null;
  const mean = objective.direction === "minimize" ? -t.value : t.value;
  const rme = marginOf(t, objective);
  return { mean, rme, samples: t.measurement.primary === objective.metric ? t.measurement.samples : [mean] };
}

/** Predictions are kept larger-is-better like values; the report wants the metric's own units. */
function inMetricUnits(p: Prediction, direction: "maximize" | "minimize"): Prediction {
  return direction === "minimize" ? { ...p, mean: -p.mean } : p;
}

/**
 * Speedup from larger-is-better values: a/b for a maximised metric, and for a minimised one
 * (values are negated) baseline/measured, which is the same ratio of the negatives.
 */
export function speedup(value: number | null, baseline: number | null, direction: "maximize" | "minimize"): number | null {
  if (value === null || baseline === null || baseline === 0 || value === 0) return null;
  const r = value / baseline;
  return direction === "minimize" ? 1 / r : r;
}

