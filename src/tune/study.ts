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
//      line is what makes the trial count on --resume;
//   4. the final race, when asked for, measures the finalists again in time kept back for it.
// The seams, each in a file of its own: the fidelity schedule (fidelity-schedule.ts) says which
// configuration moves up a rung and whether that fits in the time left, as Optuna's pruners do;
// the final race (race.ts) says which configurations race, the time kept for them and when the
// race is decided; the trial runner (trial-runner.ts) runs one trial and records it. This file
// holds the loop and the time it keeps back.
// Trials cut short by the deadline or by Ctrl-C measured nothing and are neither told nor
// journaled; a resumed study runs them again. A trial far slower than its peers is cut too, and
// that one is recorded, as a timeout: its slowness is the measurement. A short trial that needs
// a tenth of the tuning time is cut and told to the tuner but not journaled: whether that is
// too slow depends on the budget, and a resume may bring a longer one.

import { configKey, infeasibility } from "../space.js";
import type { Config, Prediction, SearchSpace, TrialRecord, Tuner, Workload } from "../types.js";
import { Budget, DeadlineReached, TrialCostModel } from "./budget.js";
import type { Journal } from "./journal.js";
import { highestFidelityOf } from "../trials.js";
import { type FinalRace, type RaceEntry, type RaceOutcome, runFinalRace } from "./race.js";
import type { GrowthEvent, SpaceGrowthPolicy } from "./space-growth.js";
import { affordable, FidelitySchedule, type ScheduleView, trialKey } from "./fidelity-schedule.js";
import { shortTrialCapMs, toObservation, TrialRunner, type TrialEnd } from "./trial-runner.js";

export { DEFAULT_ETA, DEFAULT_RUNGS, FidelitySchedule, trialKey } from "./fidelity-schedule.js";
export { objectiveValue, shortTrialCapMs } from "./trial-runner.js";

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

/** Consecutive asks of already-measured configurations before we conclude the tuner is done. */
const MAX_REPEATED_ASKS = 25;

export async function runStudy(opts: StudyOptions): Promise<StudyOutcome> {
  const study = new Study(opts);
  const { schedule } = study;
  const ended = await (async (): Promise<EndReason> => {
    const baselineEnd = await study.runBaseline();
    if (baselineEnd) return baselineEnd;
    let repeats = 0;
    let tunerDone = false;
    for (;;) {
      if (study.interrupted()) return "interrupted";
      if (study.budget.remainingMs() <= study.reserveMs + study.raceKeepMs()) return "budget";

      const promotion = schedule.next(study.view, tunerDone);
      if (promotion) {
        if (!schedule.fits(promotion, study.view)) {
          schedule.drop(promotion);
          continue;
        }
        const r = await study.runner.run(promotion.config, promotion.fidelity);
        if (r === "stopped") return study.stoppedEnd();
        if (r === "dropped") schedule.drop(promotion);
        continue;
      }
      if (tunerDone) return "exhausted";

      const config = study.tuner.ask();
      if (config === undefined) {
        tunerDone = true;
        continue; // promotions may still be pending
      }
      const why = infeasibility(study.space, config);
      if (why) {
        study.skipped.set(configKey(config), { config, reason: why });
        study.tuner.tell({ config, status: "infeasible", value: null, fidelity: schedule.lowest });
        continue;
      }
      const seen = study.done.get(trialKey(config, schedule.lowest)) ?? highestFidelityOf(study.trials, config)[0];
      if (seen) {
        // Never measure the same thing twice: remind the tuner of what it already knows.
        study.tuner.tell(toObservation(seen));
        if (++repeats >= MAX_REPEATED_ASKS) tunerDone = true;
        continue;
      }
      repeats = 0;
      if (!affordable(schedule.lowest, study.view)) return "budget";
      if ((await study.runner.run(config, schedule.lowest)) === "stopped") return study.stoppedEnd();
    }
  })();

  const race = opts.race && ended !== "interrupted" ? await study.race(opts.race) : null;
  const finalEnd: EndReason = study.interrupted() ? "interrupted" : ended;
  return { trials: study.trials, skipped: [...study.skipped.values()], ended: finalEnd, space: study.space, growth: study.growth, race };
}

/** The study's state between trials, and the steps of its loop that are more than a line. */
class Study {
  readonly budget: Budget;
  readonly reserveMs: number;
  readonly schedule: FidelitySchedule;
  readonly trials: TrialRecord[];
  readonly done = new Map<string, TrialRecord>();
  readonly cost = new TrialCostModel();
  readonly skipped = new Map<string, { config: Config; reason: string }>();
  readonly growth: GrowthEvent[] = [];
  readonly runner: TrialRunner;
  readonly view: ScheduleView;
  /** Milliseconds of study time, fixed at its start. */
  private readonly studyMs: number;
  tuner: Tuner;
  space: SearchSpace;

  constructor(private readonly opts: StudyOptions) {
    this.budget = opts.budget;
    this.tuner = opts.tuner;
    this.space = opts.space;
    this.reserveMs = opts.reserveMs ?? 0;
    this.schedule = new FidelitySchedule(opts.rungs, opts.eta);
    this.studyMs = Math.max(0, this.budget.remainingMs() - this.reserveMs);
    this.trials = [...(opts.previous ?? [])];
    const work = (config: Config) => opts.work?.(config) ?? 1;
    for (const t of this.trials) {
      this.done.set(trialKey(t.config, t.fidelity), t);
      this.cost.record(t.fidelity, t.measurement.durationMs, work(t.config));
      this.tuner.tell(toObservation(t));
    }
    this.runner = new TrialRunner({
      ...opts,
      cost: this.cost,
      trials: this.trials,
      done: this.done,
      tuner: () => this.tuner,
      reserveMs: this.reserveMs,
      elapsedOffsetMs: opts.elapsedOffsetMs ?? 0,
      slowTrialFactor: opts.slowTrialFactor ?? 6,
      minTrialLimitMs: opts.minTrialLimitMs ?? 15_000,
      shortCapMs: shortTrialCapMs(this.studyMs),
      work,
      onRecorded: (record) => {
        opts.onTrial?.(record, { trials: this.trials, best: bestOf(this.trials), budget: this.budget });
        if (!record.phase) this.maybeGrow();
      },
    });
    this.view = {
      trials: this.trials,
      done: this.done,
      budget: this.budget,
      cost: this.cost,
      studyMs: this.studyMs,
      timeLeftMs: () => this.budget.remainingMs() - this.reserveMs - this.raceKeepMs(),
    };
  }

  interrupted(): boolean {
    return this.opts.signal?.aborted === true;
  }

  /** How the study ends when the deadline or Ctrl-C stopped a trial. */
  stoppedEnd(): EndReason {
    return this.interrupted() ? "interrupted" : "budget";
  }

  /**
   * Time kept back for the final race: a round of today's finalists at their own full-trial
   * cost (a short trial scaled up where they have no full one); none while fewer than two
   * configurations have been measured, since a race needs finalists before it needs time.
   */
  raceKeepMs(): number {
    if (!this.opts.race) return 0;
    const finalists = this.opts.race.pick(this.trials);
    if (finalists.length < 2) return 0;
    const roundMs = this.roundMs(finalists, 1);
    return this.opts.race.reserveMs(this.studyMs, roundMs > 0 ? roundMs : null);
  }

  /** How long one race round of these finalists at `fidelity` should take, from their own trials. */
  private roundMs(finalists: Config[], fidelity: number): number {
    return finalists.reduce((sum, config) => sum + this.ownEstimateMs(config, fidelity), 0);
  }

  /**
   * The baseline goes first: a short trial (which also tells the cost model what trials cost
   * here), then the full one that every speedup is measured against. The full one is run
   * whatever the estimate says, but capped at half the time left: a baseline so slow that it
   * would eat the budget leaves the speedups to its short trial, rather than leave no
   * tuning at all. Its cut is not journaled, so a resumed run tries again.
   * Returns how the study ends when it ends here, else null.
   */
  async runBaseline(): Promise<EndReason | null> {
    const { baseline: base, onNote } = this.opts;
    const lowest = this.schedule.lowest;
    const baseWhy = infeasibility(this.space, base);
    if (baseWhy) {
      this.skipped.set(configKey(base), { config: base, reason: baseWhy });
      return null;
    }
    for (const fidelity of [lowest, 1]) {
      if (this.done.has(trialKey(base, fidelity))) continue;
      if (this.interrupted()) return "interrupted";
      if (this.budget.remainingMs() <= this.reserveMs) return "budget";
      const short = lowest < 1 ? this.done.get(trialKey(base, lowest)) : undefined;
      if (fidelity === 1 && short && short.value === null) break; // it failed short; it would fail long
      const cap = fidelity === 1 && lowest < 1 ? (this.budget.remainingMs() - this.reserveMs) / 2 : undefined;
      const r: TrialEnd = await this.runner.run(base, fidelity, cap);
      if (r === "stopped") return this.stoppedEnd();
      if (r === "dropped" && fidelity < 1) break; // far too slow short; it would be slower long
      if (r === "dropped") onNote?.("the baseline's full trial would take more than half the time left; speedups are against its short trial");
    }
    return null;
  }

  /** A grown space gets a fresh tuner, told everything measured so far. */
  private maybeGrow(): void {
    const { growth, makeTuner, onNote } = this.opts;
    if (!growth || !makeTuner) return;
    const grown = growth.grow(this.space, this.trials);
    if (!grown) return;
    this.space = grown.space;
    this.tuner = makeTuner(this.space);
    for (const t of this.trials) this.tuner.tell(toObservation(t));
    this.growth.push(...grown.events);
    for (const e of grown.events) onNote?.(`${e.param} now goes up to ${e.to} (was ${e.from}): ${e.why}`);
  }

  /**
   * How long a configuration's trial at `fidelity` should take, from its own trials when it has
   * some: the quickest at that fidelity, else the quickest at its highest, scaled up by the
   * fidelity ratio (a full trial that timed extra repetitions for its margin costs more than one
   * that did not). Else from the cost model scaled by its work: a finalist seen in one short trial
   * of many sequences is not judged by the typical trial's work ratio, which overestimates it many
   * times.
   */
  ownEstimateMs(config: Config, fidelity: number): number {
    const key = configKey(config);
    const own = this.trials.filter((t) => configKey(t.config) === key);
    const quickest = (ts: TrialRecord[]) => Math.min(...ts.map((t) => t.measurement.durationMs));
    const same = own.filter((t) => t.fidelity === fidelity);
    if (same.length > 0) return quickest(same);
    const top = highestFidelityOf(own, config);
    if (top.length > 0) return quickest(top) * Math.max(1, fidelity / top[0].fidelity);
    return this.cost.estimateFor(fidelity, this.opts.work?.(config) ?? 1) ?? 0;
  }

  /** The final race, its trials stopped by Ctrl-C or when the next would not end before the deadline. */
  race(policy: FinalRace): Promise<RaceOutcome | null> {
    const leftMs = () => this.budget.remainingMs() - this.reserveMs;
    const finalists = policy.pick(this.trials);
    const fidelity = policy.fidelityFor(this.schedule.rungs, (f) => this.roundMs(finalists, f), leftMs());
    return runFinalRace(policy, {
      trials: this.trials,
      fidelity,
      mayRun: (config) => !this.interrupted() && this.ownEstimateMs(config, fidelity) <= leftMs(),
      run: (config) => this.runner.run(config, fidelity, undefined, "race"),
      onRace: this.opts.onRace,
    });
  }
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

export { DeadlineReached };
