// The final race: before the study answers, its top candidates are measured again, interleaved
// (A B C A B C ...), so that slow drift of the machine hits every candidate alike, until the
// leader stands apart from the rest beyond noise or the time kept for the race is spent. The
// answer and its numbers are the race's: the best of many noisy trials reads high (the winner's
// curse), a fresh measurement of the few finalists does not.
//
// Like the fidelity schedule, the race is a policy beside the study loop: it says which
// configurations race, how much time to keep for them, and when the race is decided.
// runFinalRace plays the rounds; the study's trial runner runs each trial, through a callback.

import { configKey } from "../space.js";
import { leadingTrials } from "../trials.js";
import { tCritical95 } from "../statistics.js";
import { separation, summaryOf } from "../separation.js";
import type { Config, TrialRecord } from "../types.js";

export interface RaceEntry {
  config: Config;
  /** The objective of each race trial (larger is better), in round order. */
  values: number[];
  /** Ids of the race trials in the journal. */
  trialIds: number[];
}

export interface RaceOutcome {
  entries: RaceEntry[];
  rounds: number;
  /** The fidelity its trials ran at: 1 unless not even one round of full trials fitted. */
  fidelity: number;
  /** Whether the leader is ahead of every other finalist beyond noise. */
  separated: boolean;
  /** Why the race ended, in words. */
  why: string;
}

export interface RaceSummary {
  config: Config;
  /** Mean of the race trials' objective (larger is better). */
  mean: number;
  /** Relative margin of error of that mean at 95% (t over the race trials); Infinity with one. */
  rme: number;
  n: number;
}

export interface FinalRaceOptions {
  /** Finalists (default 3). */
  finalists?: number;
  /** Rounds the time kept for the race plans for (default 2: one check of separation). */
  plannedRounds?: number;
  /** Rounds at most (default 6). */
  maxRounds?: number;
  /** Largest share of the study's time kept for the race (default 0.35). */
  maxShare?: number;
}

export class FinalRace {
  readonly finalists: number;
  readonly plannedRounds: number;
  readonly maxRounds: number;
  readonly maxShare: number;

  constructor(options: FinalRaceOptions = {}) {
    this.finalists = options.finalists ?? 3;
    this.plannedRounds = options.plannedRounds ?? 2;
    this.maxRounds = options.maxRounds ?? 6;
    this.maxShare = options.maxShare ?? 0.35;
  }

  /**
   * Milliseconds the study keeps for the race: the planned rounds at `roundMs`, what one full
   * trial of each of today's finalists costs, at most `maxShare` of the study. The finalists'
   * own costs, not a typical trial's: the leaders are often the heaviest configurations (many
   * workers x many sequences), several times the cost of the baseline. Unknown costs keep the
   * share itself: a run too short to learn its costs still ends in a race.
   */
  reserveMs(studyMs: number, roundMs: number | null): number {
    const cap = this.maxShare * studyMs;
    if (roundMs === null) return cap;
    return Math.min(cap, this.plannedRounds * roundMs);
  }

  /**
   * The fidelity the race runs at: full trials when one round of them fits in the time left,
   * since the answer's number should be a full trial's; else the highest rung at which a round
   * fits (a short budget on a slow machine), since interleaved short trials still compare the
   * finalists fairly with each other; else the lowest rung.
   */
  fidelityFor(rungs: number[], roundMs: (fidelity: number) => number, leftMs: number): number {
    const descending = [...rungs].sort((a, b) => b - a);
    return descending.find((f) => roundMs(f) <= leftMs) ?? descending[descending.length - 1];
  }

  /**
   * The finalists: the best configurations at the highest fidelity measured, then the best of the
   * next fidelity down, and so on, until `finalists` are found, leaving out any that the best
   * value measured beats CLEARLY_BEATEN times over: the race separates close candidates, and its
   * time is better spent measuring them again. The two best values are always raced, so that a
   * single trial that read high is measured again against the nearest rival. Race trials of an
   * earlier run (resume) count like any trial.
   */
  pick(trials: TrialRecord[]): Config[] {
    const leading = leadingTrials(trials);
    const byValue = [...leading].sort((a, b) => b.value! - a.value!);
    const contenders = new Set(byValue.slice(0, 2));
    return leading
      .filter((t) => contenders.has(t) || !clearlyBeaten(byValue[0].value!, t.value!))
      .slice(0, this.finalists)
      .map((t) => t.config);
  }

  /**
   * Whether the race is decided: the leader ahead of every other finalist beyond the 95% interval
   * of their ratio (src/separation.ts, on the log scale, where noise on throughput is
   * multiplicative). The trials are interleaved, so the machine's drift hits all alike and is not
   * counted again. A finalist whose every race trial failed is out.
   */
  decide(entries: RaceEntry[]): { separated: boolean; why: string } {
    const alive = entries.filter((e) => e.values.length > 0);
    // A finalist whose race trials all failed is out; one the race never reached is not beaten.
    const unmeasured = entries.filter((e) => e.trialIds.length === 0).length;
    if (alive.length <= 1 && unmeasured > 0) return { separated: false, why: "the time ran out before every finalist was measured again" };
    if (alive.length <= 1) return { separated: alive.length === 1, why: alive.length === 1 ? "every other finalist failed its race trials" : "no finalist measured" };
    // Values are larger-is-better; a minimised metric arrives negated, so compare magnitudes with
    // the direction saying which way is better.
    const direction = alive[0].values[0] < 0 ? "minimize" : "maximize";
    const ranked = alive.map((e) => summaryOf(e.values.map(Math.abs))).sort((a, b) => (direction === "minimize" ? a.mean - b.mean : b.mean - a.mean));
    const [lead, ...rest] = ranked;
    if (lead.n < 2) return { separated: false, why: "one race trial each: no spread to judge by yet" };
    const seps = [];
    for (const other of rest) {
      if (other.n < 2) return { separated: false, why: "a finalist has one race trial only" };
      const sep = separation(lead, other, { direction, driftSd: 0 });
      if (!sep) return { separated: false, why: "a finalist's race trials read zero: no ratio to judge by" };
      seps.push(sep);
      if (!sep.separated) {
        const bound = Math.log(sep.ratio / sep.interval[0]);
        // Past a factor of 10 the bound says only that the trials scatter too widely to tell.
        const within = bound > Math.LN10 ? `within the scatter of its ${lead.n} and ${other.n} race trials, too wide to tell them apart` : `within the ±${pct(Math.exp(bound) - 1)} its ${lead.n} and ${other.n} race trials can tell apart`;
        return { separated: false, why: `the leader is ${pct(sep.ratio - 1)} ahead of the next finalist, ${within}` };
      }
    }
    return { separated: true, why: `the leader is ${pct(seps[0].ratio - 1)} ahead of the next finalist, beyond the noise of ${lead.n} and ${rest[0].n} race trials` };
  }

  /** Each finalist's race numbers, best first. */
  summarize(entries: RaceEntry[]): RaceSummary[] {
    return entries
      .filter((e) => e.values.length > 0)
      .map((e) => {
        const { mean, se, n } = summaryOf(e.values);
        return { config: e.config, mean, rme: n < 2 ? Number.POSITIVE_INFINITY : (tCritical95(n - 1) * se) / Math.abs(mean), n };
      })
      .sort((a, b) => b.mean - a.mean);
  }
}

/**
 * How far behind the best value a configuration may read and still be raced. Single trials on a
 * shared machine have read one configuration 77 and 147 tok/s minutes apart, so a gap under 2x
 * from one trial each is not yet a verdict; one beyond it is not worth the race's time.
 */
export const CLEARLY_BEATEN = 2;

/**
 * Whether `best` beats `value` more than CLEARLY_BEATEN times over (larger is better; a minimised
 * metric arrives negated, so -10 ms beats -25 ms 2.5 times). Nothing measured beats a value at or
 * below zero when the best is above it.
 */
function clearlyBeaten(best: number, value: number): boolean {
  if (best > 0) return value <= 0 || best / value > CLEARLY_BEATEN;
  return best < 0 && value < 0 && value / best > CLEARLY_BEATEN;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;
}

/**
 * The race as the journal tells it (its trials carry phase "race"), for rebuilding a result from
 * trials.jsonl alone; null when the run had no race.
 */
export function raceFromTrials(trials: TrialRecord[], policy = new FinalRace()): RaceOutcome | null {
  const entries = new Map<string, RaceEntry>();
  for (const t of trials) {
    if (t.phase !== "race") continue;
    const key = configKey(t.config);
    const e = entries.get(key) ?? { config: t.config, values: [], trialIds: [] };
    e.trialIds.push(t.id);
    if (t.value !== null) e.values.push(t.value);
    entries.set(key, e);
  }
  if (entries.size === 0) return null;
  const list = [...entries.values()];
  const decision = policy.decide(list);
  const fidelity = trials.find((t) => t.phase === "race")!.fidelity;
  return { entries: list, rounds: Math.max(...list.map((e) => e.trialIds.length)), fidelity, ...decision };
}

/**
 * How sure the race's answer is, asked as two questions: is the leader ahead of the other
 * finalists beyond noise (the race's decision), and is its own value known precisely (its margin
 * of error over the race trials)?
 */
export function raceConfidence(outcome: RaceOutcome, leader: RaceSummary): { level: "high" | "medium" | "low"; reason: string } {
  // Short trials rank the finalists fairly against each other, but their numbers are not a full
  // run's (fewer tokens, one repetition), so they cannot make the value precise.
  const short = outcome.fidelity < 1;
  const precise = leader.rme <= 0.1 && !short;
  const margin = Number.isFinite(leader.rme) ? `±${(leader.rme * 100).toFixed(1)}% over ${leader.n} race trials` : "one race trial, so no margin";
  const value = short
    ? `its value is a short trial's, not a full run's: no round of full trials fitted in the time left, so the race ran at fidelity ${outcome.fidelity} (${margin})`
    : `its value is ${precise ? "known" : "not known"} precisely (${margin})`;
  const level = outcome.separated && precise ? "high" : outcome.separated || precise ? "medium" : "low";
  const lead = outcome.separated
    ? `the final race separated the answer from the other finalists: ${outcome.why}`
    : `the final race did not separate the finalists (${outcome.why}): the answer leads, but not beyond noise, so another finalist may be as good`;
  return { level, reason: `${lead}; ${value}` };
}

/** What the race needs of its study to run its trials. */
export interface RaceRunner {
  /** Every trial so far; a race trial that ran is the last one. */
  trials: TrialRecord[];
  /** Whether the next race trial of this configuration should start (Ctrl-C, the deadline). */
  mayRun: (config: Config) => boolean;
  /** Runs a race trial at `fidelity`; "stopped" when the deadline or Ctrl-C cut it. */
  run: (config: Config) => Promise<"done" | "stopped" | "dropped">;
  /** The fidelity `run` measures at (FinalRace.fidelityFor), which the outcome reports. */
  fidelity: number;
  /** Called when the race starts and after each of its trials (progress display). */
  onRace?: (entries: RaceEntry[], round: number) => void;
}

/**
 * The finalists measured again in rounds (A B C, A B C, ...) until the race is decided, the
 * rounds run out, or fewer than two finalists' next trials would end before the deadline. A
 * finalist whose trial no longer fits is passed over, not the race ended: a cheaper one's second
 * trial may still fit, and it is that second trial that lets the race judge the spread.
 */
export async function runFinalRace(policy: FinalRace, runner: RaceRunner): Promise<RaceOutcome | null> {
  const finalists = policy.pick(runner.trials);
  if (finalists.length < 2) return null;
  const entries: RaceEntry[] = finalists.map((config) => ({ config, values: [], trialIds: [] }));
  race: for (let round = 1; round <= policy.maxRounds; round++) {
    let ran = 0;
    for (const entry of entries) {
      if (!runner.mayRun(entry.config)) continue;
      ran++;
      if ((await runner.run(entry.config)) === "stopped") break race;
      const record = runner.trials[runner.trials.length - 1];
      if (record.phase === "race" && configKey(record.config) === configKey(entry.config)) {
        entry.trialIds.push(record.id);
        if (record.value !== null) entry.values.push(record.value);
      }
      runner.onRace?.(entries, round);
    }
    // One finalist measured again alone compares nothing: the race is over.
    if (ran < 2) break;
    const decision = policy.decide(entries);
    if (decision.separated && (round >= 2 || entries.filter((e) => e.values.length > 0).length <= 1)) break;
  }
  // The journal keeps the race's trials, not why the race stopped: the outcome is worded by
  // the decision alone, so that a report rebuilt from trials.jsonl says the same.
  const rounds = Math.max(...entries.map((e) => e.trialIds.length));
  return rounds === 0 ? null : { entries, rounds, fidelity: runner.fidelity, ...policy.decide(entries) };
}
