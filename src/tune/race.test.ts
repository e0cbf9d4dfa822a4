import { describe, expect, it } from "vitest";
import type { TrialRecord } from "../types.js";
import { FinalRace, raceConfidence, raceFromTrials, runFinalRace } from "./race.js";

const entry = (a: number, values: number[]) => ({ config: { a }, values, trialIds: values.map((_, i) => i) });

function record(id: number, a: number, value: number | null, fidelity = 1, phase?: "race"): TrialRecord {
  return {
    id,
    config: { a },
    fidelity,
    value,
    measurement: { status: value === null ? "failed" : "ok", metrics: {}, primary: "x", samples: [], warmup: 0, rme: 0.05, durationMs: 1, fidelity: { level: fidelity } },
    startedAt: "",
    elapsedMs: id,
    ...(phase ? { phase } : {}),
  };
}

describe("FinalRace", () => {
  const race = new FinalRace();

  it("picks the finalists from the highest fidelity first, then the next one down", () => {
    const trials = [record(0, 1, 50, 1), record(1, 2, 90, 0.25), record(2, 3, 70, 1), record(3, 4, 80, 0.25), record(4, 5, null, 1)];
    expect(race.pick(trials).map((c) => c.a)).toEqual([3, 1, 2]);
  });

  it("leaves out of the race a configuration the best value beats more than twice over, but always races the two best", () => {
    // A 1-minute tune: the baseline's full trial, then short ones of faster configurations.
    const trials = [record(0, 1, 78, 1), record(1, 2, 229, 0.25), record(2, 3, 144, 0.25), record(3, 4, 104, 0.25)];
    expect(race.pick(trials).map((c) => c.a)).toEqual([2, 3]);
    // A lone leader still meets its nearest rival, however far behind: one high reading is what the race checks.
    expect(race.pick([record(0, 1, 40, 1), record(1, 2, 229, 0.25), record(2, 3, 30, 0.25)]).map((c) => c.a)).toEqual([1, 2]);
    // A value of zero is beaten by anything above it.
    expect(race.pick([record(0, 1, 100, 1), record(1, 2, 90, 1), record(2, 3, 0, 1)]).map((c) => c.a)).toEqual([1, 2]);
    // A minimised metric arrives negated: 10 ms leads, 25 ms is 2.5x behind it, 15 ms is raced.
    const latency = [record(0, 1, -25, 1), record(1, 2, -10, 0.25), record(2, 3, -15, 0.25), record(3, 4, -30, 0.25)];
    expect(race.pick(latency).map((c) => c.a)).toEqual([2, 3]);
  });

  it("calls a leader separated only when the 95% interval of its lead on the race trials clears 1", () => {
    // 20% ahead with ~1% scatter: separated after two rounds.
    expect(race.decide([entry(1, [120, 121]), entry(2, [100, 101]), entry(3, [90, 91])]).separated).toBe(true);
    // 5% ahead with 10% scatter: not separated, and the reason gives both numbers.
    const close = race.decide([entry(1, [105, 115]), entry(2, [100, 110]), entry(3, [90, 99])]);
    expect(close.separated).toBe(false);
    expect(close.why).toMatch(/ahead of the next finalist, within the ±\d+/);
    // Trials that scatter this much bound nothing worth a number (more than 10x).
    const wild = race.decide([entry(1, [120, 119]), entry(2, [70, 26])]);
    expect(wild.why).toMatch(/within the scatter of its 2 and 2 race trials, too wide to tell them apart/);
    // The time ran out before the second finalist was measured again: nothing is decided.
    const cut = race.decide([entry(1, [120]), { config: { a: 2 }, values: [], trialIds: [] }]);
    expect(cut).toEqual({ separated: false, why: "the time ran out before every finalist was measured again" });
    // Its race trial ran and failed: it is out.
    expect(race.decide([entry(1, [120]), { config: { a: 2 }, values: [], trialIds: [7] }]).separated).toBe(true);
    // One trial each: no spread to judge by.
    expect(race.decide([entry(1, [200]), entry(2, [100])]).separated).toBe(false);
    // A minimised metric arrives negated: the smaller latency leads.
    const latency = race.decide([entry(1, [-120, -121]), entry(2, [-100, -101])]);
    expect(latency).toEqual({ separated: true, why: expect.stringMatching(/^the leader is 20% ahead/) });
    // A finalist that read zero twice gives no ratio: nothing is decided, nothing throws.
    expect(race.decide([entry(1, [120, 121]), entry(2, [0, 0])]).separated).toBe(false);
  });

  it("summarises each finalist with a t-based margin of error, best first", () => {
    const [first, second] = race.summarize([entry(1, [100, 110, 90]), entry(2, [200, 200, 200])]);
    expect(first.config).toEqual({ a: 2 });
    expect(first.rme).toBe(0);
    expect(second.mean).toBeCloseTo(100, 10);
    // sd 10 over 3 trials: 4.303 * 10 / sqrt(3) / 100.
    expect(second.rme).toBeCloseTo((4.303 * 10) / Math.sqrt(3) / 100, 6);
    expect(race.summarize([entry(3, [50])])[0].rme).toBe(Number.POSITIVE_INFINITY);
  });

  it("keeps the planned rounds at the finalists' own cost of a round, capped at its share of the study", () => {
    expect(race.reserveMs(600_000, 30_000)).toBe(60_000);
    expect(race.reserveMs(60_000, 30_000)).toBeCloseTo(21_000);
    expect(race.reserveMs(60_000, null)).toBeCloseTo(21_000);
  });

  it("passes over a finalist whose next trial no longer fits and goes on with the others", async () => {
    // Finalist 1 is the slowest: after round 1 it no longer fits, the others still do.
    const trials = [record(0, 1, 130), record(1, 2, 120), record(2, 3, 110)];
    const cost: Record<number, number> = { 1: 15, 2: 2, 3: 2 };
    let left = 30;
    const outcome = await runFinalRace(new FinalRace({ maxRounds: 3 }), {
      trials,
      fidelity: 1,
      mayRun: (config) => cost[config.a as number] <= left,
      run: async (config) => {
        left -= cost[config.a as number];
        trials.push(record(trials.length, config.a as number, 100 + trials.length, 1, "race"));
        return "done";
      },
    });
    // Round 1: 1, 2, 3 (11 left); rounds 2 and 3: 1 does not fit, 2 and 3 run (3 left).
    expect(outcome!.entries.map((e) => e.trialIds.length)).toEqual([1, 3, 3]);
    // Once only one finalist fits, measuring it alone again compares nothing: the race ends.
    const lonely: Record<number, number> = { 1: 15, 2: 1, 3: 20 };
    left = 19;
    const again = trials.slice(0, 3);
    const alone = await runFinalRace(new FinalRace({ maxRounds: 3 }), {
      trials: again,
      fidelity: 1,
      mayRun: (config) => lonely[config.a as number] <= left,
      run: async (config) => {
        left -= lonely[config.a as number];
        again.push(record(again.length, config.a as number, 100, 1, "race"));
        return "done";
      },
    });
    // Round 1: 1 and 2 run (3 left), 3 never fits; round 2: only 2 fits, and the race ends there.
    expect(alone!.entries.map((e) => e.trialIds.length)).toEqual([1, 2, 0]);
  });

  it("races full trials when a round of them fits, else the highest rung at which one does", () => {
    // A round costs 60 s at full fidelity and 18 s at 0.25 (short trials are cheaper but not 4x).
    const roundMs = (f: number) => (f === 1 ? 60_000 : 18_000);
    expect(race.fidelityFor([0.25, 1], roundMs, 90_000)).toBe(1);
    expect(race.fidelityFor([0.25, 1], roundMs, 21_000)).toBe(0.25);
    expect(race.fidelityFor([0.25, 1], roundMs, 5_000)).toBe(0.25);
  });

  it("is rebuilt from the journal's race trials", () => {
    const trials = [record(0, 1, 100), record(1, 1, 120, 1, "race"), record(2, 2, 100, 1, "race"), record(3, 1, 121, 1, "race"), record(4, 2, 101, 1, "race")];
    const outcome = raceFromTrials(trials)!;
    expect(outcome.rounds).toBe(2);
    expect(outcome.entries.find((e) => e.config.a === 1)!.values).toEqual([120, 121]);
    expect(outcome.separated).toBe(true);
    expect(outcome.fidelity).toBe(1);
    expect(raceFromTrials([record(0, 1, 100)])).toBeNull();
    const short = raceFromTrials([record(0, 1, 100), record(1, 1, 120, 0.25, "race"), record(2, 2, 100, 0.25, "race")])!;
    expect(short.fidelity).toBe(0.25);
  });

  it("words its confidence from both questions: separated, and known precisely", () => {
    const separated = { entries: [], rounds: 3, fidelity: 1, separated: true, why: "the leader is 20% ahead" };
    expect(raceConfidence(separated, { config: {}, mean: 100, rme: 0.03, n: 3 }).level).toBe("high");
    expect(raceConfidence(separated, { config: {}, mean: 100, rme: 0.3, n: 2 }).level).toBe("medium");
    const tied = { ...separated, separated: false, why: "within noise" };
    const low = raceConfidence(tied, { config: {}, mean: 100, rme: 0.3, n: 2 });
    expect(low.level).toBe("low");
    expect(low.reason).toMatch(/did not separate.*not known precisely/);
    // A race of short trials ranks the finalists, but its numbers are not a full run's.
    const short = raceConfidence({ ...separated, fidelity: 0.25 }, { config: {}, mean: 100, rme: 0.03, n: 3 });
    expect(short.level).toBe("medium");
    expect(short.reason).toMatch(/a short trial's, not a full run's: .* the race ran at fidelity 0.25 \(±3.0% over 3 race trials\)/);
  });

});
