// The study: the ask/tell loop that spends a time budget on trials. It owns what tuners must not
// know about: the clock, the journal, the fidelity schedule and the workload's processes.
//
// Trial lifecycle (after Optuna's study, with asynchronous successive halving as the pruner):
//   1. the baseline runs first, short and then at full fidelity, so that every speedup is
//      against a real measurement;
//   2. each step either promotes a promising configuration to the next fidelity rung, or asks
//      the tuner for a new one and runs it at the lowest rung, so a bad configuration costs the
//      price of a short trial;
//   3. the measurement is turned into an observation (larger is better, null when it failed),
//      told to the tuner and appended to the journal, in that order of importance: the journal
//      line is what makes the trial count on --resume.
// Trials cut short by the deadline or by Ctrl-C measured nothing and are neither told nor
// journaled; a resumed study runs them again. A trial far slower than its peers is cut too, and
// that one is recorded, as a timeout: its slowness is the measurement. A short trial that needs
// a tenth of the tuning time is cut and told to the tuner but not journaled: whether that is
// too slow depends on the budget, and a resume may bring a longer one.

import { configKey, infeasibility } from "../space.js";
import type { Config, Measurement, Observation, Prediction, SearchSpace, TrialRecord, Tuner, Workload } from "../types.js";
import { Budget, DeadlineReached, TrialCostModel, TrialLimitReached } from "./budget.js";
import type { Journal } from "./journal.js";
import { describeConfig } from "../format.js";
import { highestFidelityOf } from "../trials.js";
import type { FinalRace, RaceEntry, RaceOutcome } from "./race.js";
import type { GrowthEvent, SpaceGrowthPolicy } from "./space-growth.js";

export type EndReason = "budget" | "exhausted" | "interrupted";

export interface StudyOptions {
  space: SearchSpace;
  tuner: Tuner;
  workload: Workload;
  budget: Budget;
  /** Where finished trials are appended; omitted in tests that only look at the outcome. */
  journal?: Journal;
  /** Trials from an earlier run (--resume): told to the tuner first and never run again. */
  previous?: TrialRecord[];
  /** Measured first, at full fidelity. */
  baseline: Config;
  /** Fidelity rungs, ascending, ending at 1. [1] turns successive halving off. */
  rungs?: number[];
  /** Successive halving's reduction factor: the top 1/eta of a rung moves up. */
  eta?: number;
  /** Ctrl-C: stops asking and aborts the running trial. */
  signal?: AbortSignal;
  /** The performance model's prediction of the objective, stored with each trial. */
  predict?: (config: Config) => Prediction | null;
  /** Things the user should know, e.g. that the baseline's full trial was dropped. */
  onNote?: (note: string) => void;
  /** Called when a trial starts (progress display). */
  onTrialStart?: (config: Config, fidelity: number) => void;
  /** Called after every journaled trial (progress display). */
  onTrial?: (record: TrialRecord, study: StudyState) => void;
  /** Kept back from the deadline for writing the results after the last trial. */
  reserveMs?: number;
  /** Milliseconds of earlier sessions (resume), so that elapsedMs keeps counting up. */
  elapsedOffsetMs?: number;
  /**
   * A trial running longer than this many times the usual duration at its fidelity is cut and
   * recorded as a timeout: it is too slow to be the answer, and a bad configuration should cost
   * seconds, not the budget. Default 6.
   */
  slowTrialFactor?: number;
  /** Never cut a trial for slowness before this many milliseconds. Default 15 s. */
  minTrialLimitMs?: number;
  /** Relative amount of work a configuration's trial does (see TrialCostModel). Default 1. */
  work?: (config: Config) => number;
  /** Grows the space while the best sit on its edge; needs `makeTuner` for the grown space. */
  growth?: SpaceGrowthPolicy;
  makeTuner?: (space: SearchSpace) => Tuner;
  /** Re-measures the finalists, interleaved, in time kept back for it, before the study answers. */
  race?: FinalRace;
  /** Called when the race starts and after each of its trials (progress display). */
  onRace?: (entries: RaceEntry[], round: number) => void;
}

export interface StudyState {
  trials: TrialRecord[];
  best: TrialRecord | null;
  budget: Budget;
}

export interface StudyOutcome {
  trials: TrialRecord[];
  /** The space as it ended (grown where the best sat on an edge). */
  space: SearchSpace;
  growth: GrowthEvent[];
  /** The final race, when one ran. */
  race: RaceOutcome | null;
  /** Configurations the tuner asked for that the constraints ruled out, never run. */
  skipped: { config: Config; reason: string }[];
  ended: EndReason;
}

export const DEFAULT_RUNGS = [1 / 9, 1 / 3, 1];

const SHORT_CAP_WORDS = "a tenth of the tuning time, or 20 s";

/** Longest a short trial may run: a tenth of the study, at least 20 s, at most a third. */
export function shortTrialCapMs(studyMs: number): number {
  return Math.min(studyMs / 3, Math.max(20_000, studyMs / 10));
}
export const DEFAULT_ETA = 3;

/** Consecutive asks of already-measured configurations before we conclude the tuner is done. */
const MAX_REPEATED_ASKS = 25;

/** Objective as the tuner sees it: larger is better, null when the trial gave no number. */
export function objectiveValue(workload: Workload, m: Measurement): number | null {
  if (m.status !== "ok") return null;
  const { metric, direction } = workload.objective;
  let v = m.metrics[metric];
  if (v === undefined && m.primary === metric && m.samples.length > 0) v = m.samples.reduce((a, b) => a + b, 0) / m.samples.length;
  if (v === undefined || !Number.isFinite(v)) return null;
  return direction === "minimize" ? -v : v;
}

export function trialKey(config: Config, fidelity: number): string {
  return `${configKey(config)}@${fidelity}`;
}

export async function runStudy(opts: StudyOptions): Promise<StudyOutcome> {
  const rungs = normaliseRungs(opts.rungs ?? DEFAULT_RUNGS);
  const eta = opts.eta ?? DEFAULT_ETA;
  const { budget, workload } = opts;
  let { tuner, space } = opts;
  const growth: GrowthEvent[] = [];
  const reserveMs = opts.reserveMs ?? 0;
  const offset = opts.elapsedOffsetMs ?? 0;
  const slowFactor = opts.slowTrialFactor ?? 6;
  const minLimitMs = opts.minTrialLimitMs ?? 15_000;
  const workOf = (config: Config) => opts.work?.(config) ?? 1;
  const studyMs = Math.max(0, budget.remainingMs() - reserveMs);
  const shortCapMs = shortTrialCapMs(studyMs);
  const trials: TrialRecord[] = [...(opts.previous ?? [])];
  const done = new Map<string, TrialRecord>();
  const cost = new TrialCostModel();
  const skipped = new Map<string, { config: Config; reason: string }>();
  /** Promotions that did not fit in the time left, or were cut for it; not offered again. */
  const unaffordable = new Set<string>();
  let nextId = trials.reduce((m, t) => Math.max(m, t.id + 1), 0);

  for (const t of trials) {
    done.set(trialKey(t.config, t.fidelity), t);
    cost.record(t.fidelity, t.measurement.durationMs, workOf(t.config));
    tuner.tell(toObservation(t));
  }

  const state = (): StudyState => ({ trials, best: bestOf(trials), budget });
  const interrupted = () => opts.signal?.aborted === true;

  /**
   * Runs one trial. "stopped" when the deadline or Ctrl-C cut it (the study ends); "dropped"
   * when a budget-relative cap cut it (nothing journaled, the study goes on).
   */
  const runTrial = async (config: Config, fidelity: number, capMs?: number, phase?: "race"): Promise<"done" | "stopped" | "dropped"> => {
    const prediction = opts.predict?.(config) ?? undefined;
    opts.onTrialStart?.(config, fidelity);
    const startedAt = new Date().toISOString();
    const t0 = performance.now();
    const estimate = cost.estimateFor(fidelity, workOf(config));
    const slowLimit = estimate === null ? Number.POSITIVE_INFINITY : Math.max(minLimitMs, slowFactor * estimate);
    // A short trial is meant to cost seconds; one that needs a tenth of the study's time (the
    // first trials have no peers to compare with, and a trial's work grows with workers x
    // sequences) is a configuration this machine cannot run well. Fixed at the start: near the
    // end the deadline cuts trials, and that says nothing about the configuration, so it must not
    // be recorded as one too slow.
    const shortCap = fidelity < 1 ? shortCapMs : Number.POSITIVE_INFINITY;
    const limitMs = capMs ?? Math.min(slowLimit, shortCap);
    const why = capMs !== undefined ? "more than half the time left" : shortCap < slowLimit ? `${SHORT_CAP_WORDS} for one short trial` : undefined;
    const { signal, dispose } = budget.trialSignal(opts.signal, reserveMs, limitMs, why);
    let measurement: Measurement;
    try {
      measurement = await workload.run(config, { level: fidelity }, signal);
    } catch (err) {
      // Workloads report failure as a Measurement; an exception is a bug in one, and one bad
      // trial must not lose the whole run.
      measurement = {
        status: "failed",
        metrics: {},
        primary: workload.objective.metric,
        samples: [],
        warmup: 0,
        rme: Number.POSITIVE_INFINITY,
        error: err instanceof Error ? err.message : String(err),
        durationMs: performance.now() - t0,
        fidelity: { level: fidelity },
      };
    } finally {
      dispose();
    }
    if (signal.aborted && measurement.status !== "ok") {
      // Cut for slowness: that is a result (the tuner should stay away). Cut by the deadline or
      // Ctrl-C: nothing was learnt about the configuration.
      if (!(signal.reason instanceof TrialLimitReached)) return "stopped";
      if (capMs !== undefined) return "dropped";
      if (shortCap < slowLimit) {
        // Too slow for this budget, which says as much about the budget as about the
        // configuration: the tuner keeps away from it now, but it is not journaled, so a resume
        // with a longer budget tries it again.
        tuner.tell({ config, status: "timeout", value: null, fidelity });
        opts.onNote?.(`${describeConfig(config)}: short trial cut after ${(limitMs / 1000).toFixed(1)} s (${SHORT_CAP_WORDS}); not recorded, a longer budget retries it`);
        return "dropped";
      }
      measurement = { ...measurement, status: "timeout", error: signal.reason.message };
    }
    const record: TrialRecord = {
      id: nextId++,
      config,
      fidelity,
      measurement,
      value: objectiveValue(workload, measurement),
      ...(prediction ? { prediction } : {}),
      ...(phase ? { phase } : {}),
      startedAt,
      elapsedMs: Math.round(offset + budget.elapsedMs()),
    };
    trials.push(record);
    done.set(trialKey(config, fidelity), record);
    cost.record(fidelity, measurement.durationMs, workOf(config));
    opts.journal?.append(record);
    tuner.tell(toObservation(record));
    opts.onTrial?.(record, state());
    if (!phase) maybeGrow();
    return "done";
  };

  /** A grown space gets a fresh tuner, told everything measured so far. */
  const maybeGrow = () => {
    if (!opts.growth || !opts.makeTuner) return;
    const grown = opts.growth.grow(space, trials);
    if (!grown) return;
    space = grown.space;
    tuner = opts.makeTuner(space);
    for (const t of trials) tuner.tell(toObservation(t));
    growth.push(...grown.events);
    for (const e of grown.events) opts.onNote?.(`${e.param} now goes up to ${e.to} (was ${e.from}): ${e.why}`);
  };

  /**
   * Time kept back for the final race, from what a full trial has cost so far; none while fewer
   * than two configurations have been measured, since a race needs finalists before it needs time.
   */
  const raceKeepMs = () => {
    if (!opts.race) return 0;
    const measured = new Set(trials.filter((t) => t.value !== null).map((t) => configKey(t.config)));
    return measured.size < 2 ? 0 : opts.race.reserveMs(studyMs, cost.estimate(1));
  };

  /**
   * Whether a promotion's own expected duration (its trial one rung down, scaled by the fidelity
   * ratio) fits in the time left before the race and in a quarter of the study: the cost model's
   * typical trial says nothing about a configuration whose short trial alone took minutes.
   */
  const promotionFits = (config: Config, fidelity: number): boolean => {
    const below = highestFidelityOf(trials, config)[0];
    if (!below || below.fidelity >= fidelity) return true;
    const expected = below.measurement.durationMs * (fidelity / below.fidelity);
    return expected <= Math.min(studyMs / 4, budget.remainingMs() - reserveMs - raceKeepMs());
  };

  /** Whether a trial at this fidelity is expected to end before the deadline. */
  // Not scaled by the configuration's work: trial time grows far less than linearly with
  // sequences (they decode in one batch), and the deadline still cuts a trial that overruns.
  const affordable = (fidelity: number): boolean => {
    const estimate = cost.estimate(fidelity);
    return estimate === null || estimate <= budget.remainingMs() - reserveMs - raceKeepMs();
  };

  const ended = await (async (): Promise<EndReason> => {
    // The baseline goes first: a short trial (which also tells the cost model what trials cost
    // here), then the full one that every speedup is measured against. The full one is run
    // whatever the estimate says, but capped at half the time left: a baseline so slow that it
    // would eat the budget leaves the speedups to its short trial, rather than leave no
    // tuning at all. Its cut is not journaled, so a resumed run tries again.
    const base = opts.baseline;
    const baseWhy = infeasibility(space, base);
    if (baseWhy) skipped.set(configKey(base), { config: base, reason: baseWhy });
    else {
      for (const fidelity of [rungs[0], 1]) {
        if (done.has(trialKey(base, fidelity))) continue;
        if (interrupted()) return "interrupted";
        if (budget.remainingMs() <= reserveMs) return "budget";
        const short = rungs[0] < 1 ? done.get(trialKey(base, rungs[0])) : undefined;
        if (fidelity === 1 && short && short.value === null) break; // it failed short; it would fail long
        const cap = fidelity === 1 && rungs[0] < 1 ? (budget.remainingMs() - reserveMs) / 2 : undefined;
        const r = await runTrial(base, fidelity, cap);
        if (r === "stopped") return interrupted() ? "interrupted" : "budget";
        if (r === "dropped" && fidelity < 1) break; // far too slow short; it would be slower long
        if (r === "dropped") opts.onNote?.("the baseline's full trial would take more than half the time left; speedups are against its short trial");
      }
    }

    let repeats = 0;
    let tunerDone = false;
    for (;;) {
      if (interrupted()) return "interrupted";
      if (budget.remainingMs() <= reserveMs + raceKeepMs()) return "budget";

      const promotion = nextPromotion(trials, rungs, eta, done, unaffordable, budget, cost, tunerDone);
      if (promotion) {
        if (!affordable(promotion.fidelity) || !promotionFits(promotion.config, promotion.fidelity)) {
          unaffordable.add(trialKey(promotion.config, promotion.fidelity));
          continue;
        }
        const r = await runTrial(promotion.config, promotion.fidelity);
        if (r === "stopped") return interrupted() ? "interrupted" : "budget";
        if (r === "dropped") unaffordable.add(trialKey(promotion.config, promotion.fidelity));
        continue;
      }
      if (tunerDone) return "exhausted";

      const config = tuner.ask();
      if (config === undefined) {
        tunerDone = true;
        continue; // promotions may still be pending
      }
      const why = infeasibility(space, config);
      if (why) {
        skipped.set(configKey(config), { config, reason: why });
        tuner.tell({ config, status: "infeasible", value: null, fidelity: rungs[0] });
        continue;
      }
      const seen = done.get(trialKey(config, rungs[0])) ?? highestFidelityOf(trials, config)[0];
      if (seen) {
        // Never measure the same thing twice: remind the tuner of what it already knows.
        tuner.tell(toObservation(seen));
        if (++repeats >= MAX_REPEATED_ASKS) tunerDone = true;
        continue;
      }
      repeats = 0;
      if (!affordable(rungs[0])) return "budget";
      if ((await runTrial(config, rungs[0])) === "stopped") return interrupted() ? "interrupted" : "budget";
    }
  })();

  const race = opts.race && ended !== "interrupted" ? await runRace(opts.race) : null;
  const finalEnd: EndReason = interrupted() ? "interrupted" : ended;
  return { trials, skipped: [...skipped.values()], ended: finalEnd, space, growth, race };

  /**
   * The finalists measured again in rounds (A B C, A B C, ...) until the race is decided, the
   * rounds run out, or the next trial would not end before the deadline.
   */
  async function runRace(policy: FinalRace): Promise<RaceOutcome | null> {
    const finalists = policy.pick(trials);
    if (finalists.length < 2) return null;
    const entries: RaceEntry[] = finalists.map((config) => ({ config, values: [], trialIds: [] }));
    race: for (let round = 1; round <= policy.maxRounds; round++) {
      for (const entry of entries) {
        const estimate = cost.estimateFor(1, workOf(entry.config));
        if (interrupted() || (estimate !== null && estimate > budget.remainingMs() - reserveMs)) break race;
        if ((await runTrial(entry.config, 1, undefined, "race")) === "stopped") break race;
        const record = trials[trials.length - 1];
        if (record.phase === "race" && configKey(record.config) === configKey(entry.config)) {
          entry.trialIds.push(record.id);
          if (record.value !== null) entry.values.push(record.value);
        }
        opts.onRace?.(entries, round);
      }
      const decision = policy.decide(entries);
      if (decision.separated && (round >= 2 || entries.filter((e) => e.values.length > 0).length <= 1)) break;
    }
    // The journal keeps the race's trials, not why the race stopped: the outcome is worded by
    // the decision alone, so that a report rebuilt from trials.jsonl says the same.
    const rounds = Math.max(...entries.map((e) => e.trialIds.length));
    return rounds === 0 ? null : { entries, rounds, ...policy.decide(entries) };
  }
}

function toObservation(t: TrialRecord): Observation {
  return { config: t.config, status: t.measurement.status, value: t.value, fidelity: t.fidelity };
}

function normaliseRungs(rungs: number[]): number[] {
  const r = [...new Set(rungs.filter((f) => f > 0 && f <= 1))].sort((a, b) => a - b);
  if (r[r.length - 1] !== 1) r.push(1);
  return r;
}

/** Best trial: highest fidelity reached first, then highest value (a full trial beats a hint). */
export function bestOf(trials: TrialRecord[]): TrialRecord | null {
  let best: TrialRecord | null = null;
  for (const t of trials) {
    if (t.value === null) continue;
    if (!best || t.fidelity > best.fidelity || (t.fidelity === best.fidelity && t.value > best.value!)) best = t;
  }
  return best;
}

/**
 * Asynchronous successive halving: a configuration in the top 1/eta of its rung moves to the
 * next rung; higher rungs are served first so that good configurations reach full fidelity
 * early. With few trials in a short budget 1/eta of a rung rounds to nobody, so when the time
 * left only fits a few more trials at the next rung, that rung's leader is promoted anyway:
 * better one full measurement of the best candidate than none. Once the tuner has nothing left
 * to ask, every configuration may move up, best first, while the budget lasts.
 */
function nextPromotion(
  trials: TrialRecord[],
  rungs: number[],
  eta: number,
  done: Map<string, TrialRecord>,
  unaffordable: Set<string>,
  budget: Budget,
  cost: TrialCostModel,
  tunerDone: boolean,
): { config: Config; fidelity: number } | null {
  for (let k = rungs.length - 2; k >= 0; k--) {
    const here = trials
      .filter((t) => t.fidelity === rungs[k] && t.value !== null)
      .sort((a, b) => b.value! - a.value!);
    if (here.length === 0) continue;
    const next = rungs[k + 1];
    const estimate = cost.estimate(next);
    const endgame = estimate !== null && budget.remainingMs() < 3 * estimate;
    // With nothing new left to try, the rest of the budget confirms configurations at higher
    // fidelity, best first.
    const quota = tunerDone ? here.length : endgame ? Math.max(1, Math.floor(here.length / eta)) : Math.floor(here.length / eta);
    for (const t of here.slice(0, quota)) {
      const key = trialKey(t.config, next);
      if (!done.has(key) && !unaffordable.has(key)) return { config: t.config, fidelity: next };
    }
  }
  return null;
}

export { DeadlineReached };
