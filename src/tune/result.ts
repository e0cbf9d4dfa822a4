// Turns a finished study into a TuneResult: the ranking, the recommendation and its runner-up,
// their speedups over the baseline (measured, and predicted by the performance model), and how
// far the numbers can be trusted.

import { configKey } from "../space.js";
import { highestFidelityOf, highestFidelityTrials } from "../trials.js";
import type { Config, Prediction, RankedConfig, TrialRecord, TuneResult } from "../types.js";
import { FinalRace, raceConfidence, raceFromTrials, type RaceOutcome } from "./race.js";
import type { GrowthEvent, RangeEnd } from "./space-growth.js";

/** What the study knows when it ends; the rest of a TuneResult is derived from it. */
export interface ResultInput
  extends Pick<TuneResult, "tuner" | "budgetMs" | "elapsedMs" | "ended" | "hardware" | "workload" | "params" | "trials" | "infeasible"> {
  baseline: Config;
  /** Prediction of the objective (larger is better) for any configuration, when a model exists. */
  predict?: (config: Config) => Prediction | null;
  /** How many configurations the ranking lists. */
  rankingSize?: number;
  /** The final race: its finalists' numbers replace their earlier trials'. */
  race?: RaceOutcome | null;
  growth?: { events: GrowthEvent[]; ends: RangeEnd[] };
}

/**
 * Every configuration's standing: its trial at the highest fidelity it reached. Full-fidelity
 * results rank above short ones whatever their values, because a short trial's number is a hint
 * (few tokens, a cold cache) while the recommendation must be a measurement.
 */
export function rankTrials(trials: TrialRecord[]): TrialRecord[] {
  return [...highestFidelityTrials(trials).values()]
    .map((group) => group.reduce((a, b) => (b.id > a.id ? b : a)))
    .filter((t) => t.value !== null)
    .sort((a, b) => b.fidelity - a.fidelity || b.value! - a.value!);
}

export function buildResult(input: ResultInput): TuneResult {
  const direction = input.workload.objective.direction;
  const ranked = rankTrials(input.trials);
  const baselineTrial = highestFidelityOf(input.trials, input.baseline, (t) => t.value !== null)[0];

  const predictionOf = (t: TrialRecord | undefined, config: Config): Prediction | null =>
    t?.prediction ?? input.predict?.(config) ?? null;
  const basePrediction = predictionOf(baselineTrial, input.baseline);

  const rank = (t: TrialRecord): RankedConfig => {
    const predicted = predictionOf(t, t.config);
    return {
      config: t.config,
      measured: measuredOf(t, direction),
      predicted: predicted ? inMetricUnits(predicted, direction) : null,
      speedupMeasured: speedup(t.value, baselineTrial?.value ?? null, direction),
      speedupPredicted: speedup(predicted?.mean ?? null, basePrediction?.mean ?? null, direction),
    };
  };

  const baseline: RankedConfig = baselineTrial
    ? rank(baselineTrial)
    : {
        config: input.baseline,
        measured: null,
        predicted: basePrediction ? inMetricUnits(basePrediction, direction) : null,
        speedupMeasured: null,
        speedupPredicted: basePrediction ? 1 : null,
      };
  const race = input.race !== undefined ? input.race : raceFromTrials(input.trials);
  const raced = raceRanking(race, ranked, rank, baselineTrial?.value ?? null, direction);
  const ranking = [...raced.ranking, ...ranked.filter((t) => !raced.keys.has(configKey(t.config))).map(rank)].slice(0, input.rankingSize ?? 20);
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
    confidence: raced.confidence ?? confidenceOf(ranked, baselineTrial),
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
  ranked: TrialRecord[],
  rank: (t: TrialRecord) => RankedConfig,
  baselineValue: number | null,
  direction: "maximize" | "minimize",
): { ranking: RankedConfig[]; keys: Set<string>; confidence: TuneResult["confidence"] | null } {
  const summaries = race ? new FinalRace().summarize(race.entries) : [];
  if (!race || summaries.length === 0) return { ranking: [], keys: new Set(), confidence: null };
  const ranking = summaries.map((s) => {
    const earlier = ranked.find((t) => configKey(t.config) === configKey(s.config));
    const entry = race.entries.find((e) => configKey(e.config) === configKey(s.config))!;
    const base = earlier ? rank(earlier) : { config: s.config, predicted: null, speedupPredicted: null };
    const unit = (v: number) => (direction === "minimize" ? -v : v);
    return {
      ...base,
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
    separated: race.separated,
    why: race.why,
    finalists: race.entries.map((e) => ({ config: e.config, values: e.values.map(unit), trialIds: e.trialIds })),
  };
}

function measuredOf(t: TrialRecord, direction: "maximize" | "minimize"): RankedConfig["measured"] {
  if (t.value === null) return null;
  return { mean: direction === "minimize" ? -t.value : t.value, rme: t.measurement.rme, samples: t.measurement.samples };
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

/**
 * How far two measurements of one configuration, minutes apart, differ beyond what the trials'
 * own margins of error show: on an idle 16-core Xeon, five re-measurements of 18 configurations
 * read 0.083-0.185 apart (mean |log ratio|; their 4-repetition margins predicted about 0.05),
 * whole landscapes recorded again on other machines of that kind 0.085-0.149, and the gap barely
 * depended on the trials' margins (docs/measurements/).
 * The trials of a tuning run are minutes apart, so a lead must clear this too.
 */
export const RUN_TO_RUN_DRIFT = 0.1;

/**
 * Confidence in words. "High" needs the best measured at full fidelity with a small margin of
 * error, and a lead over the runner-up larger than both margins and the run-to-run drift
 * together: then repeating the run would very likely pick the same configuration.
 */
export function confidenceOf(ranked: TrialRecord[], baseline: TrialRecord | undefined): TuneResult["confidence"] {
  const [best, runnerUp] = ranked;
  if (!best) return { level: "low", reason: "no configuration completed a trial" };
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const rme = finiteOr(best.measurement.rme, 1);
  if (best.fidelity < 1) {
    return { level: "low", reason: `the best configuration was only measured in a short trial (fidelity ${best.fidelity.toFixed(2)}); give a longer budget` };
  }
  if (!runnerUp) {
    const vsBase = baseline && baseline !== best ? "" : "; only the baseline was measured";
    return { level: rme < 0.05 && vsBase === "" ? "medium" : "low", reason: `one configuration measured at full fidelity (±${pct(rme)})${vsBase}` };
  }
  const promising = ranked.find((t) => t.fidelity < best.fidelity && t.value! > best.value!);
  if (promising) {
    const by = pct((promising.value! - best.value!) / Math.abs(best.value!));
    return { level: "low", reason: `a configuration measured only in a short trial did ${by} better; resume with more budget to measure it fully` };
  }
  const rmeRunner = finiteOr(runnerUp.measurement.rme, 1);
  const margin = (best.value! - runnerUp.value!) / Math.abs(runnerUp.value!);
  const noise = rme + (runnerUp.fidelity < 1 ? Math.max(rmeRunner, 0.1) : rmeRunner) + RUN_TO_RUN_DRIFT;
  const lead = `leads the runner-up by ${pct(margin)}; margins of error ±${pct(rme)} and ±${pct(rmeRunner)}${runnerUp.fidelity < 1 ? " (runner-up from a short trial)" : ""}, plus ~${pct(RUN_TO_RUN_DRIFT)} run-to-run drift`;
  if (rme <= 0.05 && margin > noise) return { level: "high", reason: `the best ${lead}` };
  if (rme <= 0.15 && margin > noise / 2) return { level: "medium", reason: `the best ${lead}` };
  return { level: "low", reason: `the best ${lead}: the top two are within noise of each other` };
}

function finiteOr(x: number, fallback: number): number {
  return Number.isFinite(x) ? x : fallback;
}
