// How sure a tuning run's answer is, in words. Two questions, answered apart:
// - is the best separated from the runner-up? (would a repeat pick the same configuration?)
// - is the best's own value known precisely? (how far can the expected number be trusted?)
// The level combines them; the reason states both, so that neither hides behind the other.

import type { TrialRecord, TuneResult } from "../types.js";
import { RUN_TO_RUN_DRIFT, separation, summaryFromMargin, type Separation, type MeanEstimate } from "../separation.js";

export type Confidence = TuneResult["confidence"];

/** A 95% margin of error up to this is "precise": the expected value is good to a few percent. */
export const PRECISE_RME = 0.05;
/** Above this the expected value is known only roughly. */
export const ROUGH_RME = 0.15;
/** Margins over 100% span from nothing to double: the value was not measured precisely. */
export const IMPRECISE_RME = 1;

/** What the confidence rule needs of the objective. */
export interface ObjectiveInfo {
  metric: string;
  direction: "maximize" | "minimize";
}

/** The margin counted for a measurement that has none, beside one that has. */
const ASSUMED_RME = 0.1;

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** A ratio as a multiple, 2-3 significant digits: "2.49x", "13x". */
function times(ratio: number): string {
  return `${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(2)}x`;
}

/** A ratio as a signed percent change: "+25.0%", "-6.2%". */
function signedPct(ratio: number): string {
  return `${ratio >= 1 ? "+" : "-"}${pct(Math.abs(ratio - 1))}`;
}

/** The best's own precision, in words. */
export function precisionClause(rme: number | null): string {
  if (rme == null || !Number.isFinite(rme)) return "the best's own value has no margin of error (one number per trial)";
  if (rme > IMPRECISE_RME) return `the best's own value was not measured precisely (±${(rme * 100).toFixed(0)}%)`;
  if (rme > ROUGH_RME) return `the best's own value is known only roughly (±${pct(rme)})`;
  return `the best's own value is known to ±${pct(rme)}`;
}

/**
 * The lead over the runner-up with its 95% interval, and what that interval says. Leads of 2x
 * and more read as multiples, smaller ones as percents, the interval in the same unit.
 */
export function separationClause(s: Separation, counted: string): string {
  const multiple = s.ratio >= 2;
  const unit = multiple ? times : signedPct;
  const lead = multiple ? `is ${times(s.ratio)} better than the runner-up` : s.ratio >= 1 ? `leads the runner-up by ${pct(s.ratio - 1)}` : `trails the runner-up by ${pct(1 - s.ratio)}`;
  const range = `95% interval ${unit(s.interval[0])} to ${unit(s.interval[1])}, ${counted}`;
  if (s.separated) return `the best ${lead} (${range}): clearly ahead`;
  if (s.z >= 1) return `the best ${lead}, but the lead is not certain (${range}): a second run could pick the runner-up`;
  return `the best ${lead} (${range}): the top two are within noise of each other`;
}

/**
 * Confidence from the study's ranking (rankTrials order: highest fidelity first, then value).
 * "High": the best was measured at full fidelity, its 95% interval of the lead over the
 * runner-up lies above zero, and its own margin is at most ROUGH_RME. "Medium": separated but
 * imprecise, or ahead by more than one standard error of the lead. Otherwise "low".
 */
export function confidenceOf(ranked: TrialRecord[], baseline: TrialRecord | undefined, objective?: ObjectiveInfo): Confidence {
  const [best, runnerUp] = ranked;
  if (!best) return { level: "low", reason: "no configuration completed a trial" };
  const direction = objective?.direction ?? "maximize";
  const margin = (t: TrialRecord) => marginOf(t, objective);
  const rme = margin(best);
  if (best.fidelity < 1) {
    return { level: "low", reason: `the best configuration was only measured in a short trial (fidelity ${best.fidelity.toFixed(2)}); give a longer budget` };
  }
  if (!runnerUp) {
    const onlyBase = baseline && baseline !== best ? "" : "; only the baseline was measured";
    const precise = rme != null && rme <= PRECISE_RME;
    return { level: precise && onlyBase === "" ? "medium" : "low", reason: `one configuration measured at full fidelity, nothing to compare it with; ${precisionClause(rme)}${onlyBase}` };
  }
  const promising = ranked.find((t) => t.fidelity < best.fidelity && t.value! > best.value!);
  if (promising) {
    const by = pct((promising.value! - best.value!) / Math.abs(best.value!));
    return { level: "low", reason: `a configuration measured only in a short trial did ${by} better; resume with more budget to measure it fully` };
  }

  // The margins of the objective itself. A metric without any (latency: one median per trial)
  // is compared on the run-to-run drift alone, and says so; with margins, one that is missing
  // (a runner-up from a short trial or one repetition) is taken as ±10%.
  const rmeRunner = margin(runnerUp);
  const noMargins = rme == null && rmeRunner == null;
  const summary = (t: TrialRecord, m: number | null): MeanEstimate => {
    const mean = Math.abs(t.value!);
    if (noMargins) return { mean, se: 0, n: Number.POSITIVE_INFINITY };
    const measured = summaryFromMargin(mean, m, t.measurement.samples.length);
    return Number.isFinite(measured.se) ? measured : { mean, se: (ASSUMED_RME * mean) / 1.96, n: Number.POSITIVE_INFINITY };
  };
  const s = separation(summary(best, rme), summary(runnerUp, rmeRunner), { direction });
  if (!s) return { level: "low", reason: "the best and the runner-up cannot be compared (a value that is not positive)" };
  const assumed = !noMargins && [best, runnerUp].some((t) => !Number.isFinite(summaryFromMargin(1, margin(t), t.measurement.samples.length).se));
  const counted = noMargins
    ? `counting ~${pct(RUN_TO_RUN_DRIFT)} run-to-run drift only: ${objective?.metric ?? "the objective"} has no margin of error of its own`
    : `counting both margins of error${assumed ? ` (one without a margin, from a short trial or one repetition, taken as ±${pct(ASSUMED_RME)})` : ""} and ~${pct(RUN_TO_RUN_DRIFT)} run-to-run drift`;
  const reason = `${separationClause(s, counted)}; ${precisionClause(rme)}`;
  const precise = rme != null && rme <= ROUGH_RME;
  if (s.separated && precise) return { level: "high", reason };
  if (s.separated || s.z >= 1) return { level: rme != null && rme > IMPRECISE_RME ? "low" : "medium", reason };
  return { level: "low", reason };
}

/**
 * The relative 95% margin of error of a trial's objective, or null when the trial has none for
 * it: the measurement's margin describes its `primary` metric only (a latency objective over a
 * trial whose repetitions time decode throughput has none).
 */
export function marginOf(t: TrialRecord, objective?: ObjectiveInfo): number | null {
  if (objective && t.measurement.primary !== objective.metric) return null;
  return Number.isFinite(t.measurement.rme) ? t.measurement.rme : null;
}
