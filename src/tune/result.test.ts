import { describe, expect, it } from "vitest";
import type { Config, HardwareProfile, TrialRecord } from "../types.js";
import { buildResult, confidenceOf, rankTrials, speedup, type ResultInput } from "./result.js";

let nextId = 0;
function trial(config: Config, fidelity: number, value: number | null, rme = 0.02): TrialRecord {
  return {
    id: nextId++,
    config,
    fidelity,
    measurement: { status: value === null ? "failed" : "ok", metrics: {}, primary: "decodeTps", samples: value === null ? [] : [value], warmup: 1, rme, durationMs: 1000, fidelity: { level: fidelity } },
    value,
    startedAt: new Date(0).toISOString(),
    elapsedMs: nextId * 1000,
  };
}

/** A finished run of a command over w in {1, 2}, baseline w=1, with these trials. */
function commandRun(trials: TrialRecord[]): ResultInput {
  return {
    tuner: "grid",
    budgetMs: 60_000,
    elapsedMs: 60_000,
    ended: "budget",
    hardware: { fingerprint: "x" } as HardwareProfile,
    workload: { kind: "command", objective: { metric: "value", direction: "maximize" }, settings: {} },
    params: [{ name: "w", kind: "ordinal", values: [1, 2] }],
    trials,
    infeasible: [],
    baseline: { w: 1 },
  };
}

describe("rankTrials", () => {
  it("ranks each configuration by its highest-fidelity trial, full ones first, failures out", () => {
    const a = { w: 1 };
    const b = { w: 2 };
    const c = { w: 4 };
    const d = { w: 8 };
    // b's short trial is better than every full one, but by less than 1.5x: still a hint.
    const ranked = rankTrials([trial(a, 0.25, 50), trial(a, 1, 40), trial(b, 0.25, 58), trial(c, 1, 30), trial(d, 0.25, null)]);
    expect(ranked.map((t) => [t.config.w, t.fidelity, t.value])).toEqual([
      [1, 1, 40],
      [4, 1, 30],
      [2, 0.25, 58],
    ]);
  });

  it("puts a short trial 1.5x better than every full one first, so a far slower baseline is not the answer", () => {
    const base = { w: 1 };
    const fast = { w: 2 };
    const ranked = rankTrials([trial(base, 0.25, 45), trial(base, 1, 50), trial(fast, 0.25, 105)]);
    expect(ranked.map((t) => t.config.w)).toEqual([2, 1]);
    // The same for a minimised metric (values negated): 100 ms against a 160 ms full trial.
    const latency = rankTrials([trial(base, 1, -160), trial(fast, 0.25, -100)]);
    expect(latency.map((t) => t.config.w)).toEqual([2, 1]);
    expect(rankTrials([trial(base, 1, -160), trial(fast, 0.25, -120)]).map((t) => t.config.w)).toEqual([1, 2]);
  });
});

describe("speedup", () => {
  it("is measured / baseline for a maximised metric and baseline / measured for a minimised one", () => {
    expect(speedup(30, 10, "maximize")).toBe(3);
    // Latency 50 ms against a 100 ms baseline, stored negated: twice as fast.
    expect(speedup(-50, -100, "minimize")).toBe(2);
    expect(speedup(null, 10, "maximize")).toBeNull();
  });
});

describe("confidenceOf", () => {
  const base = trial({ w: 1 }, 1, 100);
  /** A full trial with three repetitions whose 95% margin of error is `rme`. */
  const full = (w: number, value: number, rme: number) => {
    const t = trial({ w }, 1, value, rme);
    t.measurement.samples = [value, value, value];
    return t;
  };
  const objective = { metric: "decodeTps", direction: "maximize" as const };

  it("is high when the lead's 95% interval clears both margins and the drift, and the best is precise", () => {
    const c = confidenceOf([full(2, 150, 0.02), full(4, 100, 0.03), base], base, objective);
    expect(c.level).toBe("high");
    expect(c.reason).toMatch(/^the best leads the runner-up by 50\.0% \(95% interval \+\d+\.\d% to \+\d+\.\d%, counting both margins of error and ~10\.0% run-to-run drift\): clearly ahead; the best's own value is known to ±2\.0%$/);
  });

  it("separates the lead from the best's precision: a 149% lead with a ±30% margin is clearly ahead, not 'within noise'", () => {
    // The case a 1-minute tune printed as "low ... the top two are within noise of each other".
    const c = confidenceOf([full(2, 248.8, 0.301), full(4, 100, 0.039), base], base, objective);
    expect(c.reason).toMatch(/^the best is 2\.49x better than the runner-up \(95% interval 1\.\d\dx to 3\.\d\dx, counting both margins of error and ~10\.0% run-to-run drift\): clearly ahead/);
    expect(c.reason).toMatch(/the best's own value is known only roughly \(±30\.1%\)/);
    expect(c.reason).not.toMatch(/within noise/);
    expect(c.level).toBe("medium");
    // A 10x lead with a ±16% margin: clearly ahead, and precise enough to be high.
    const ten = confidenceOf([full(2, 1000, 0.16), full(4, 100, 0.05), base], base, objective);
    expect(ten.reason).toMatch(/is 10x better than the runner-up .*clearly ahead/);
    expect(ten.reason).not.toMatch(/within noise/);
    expect(ten.level).toBe("medium");
    expect(confidenceOf([full(2, 1000, 0.12), full(4, 100, 0.05), base], base, objective).level).toBe("high");
  });

  it("says a lead of more than one standard error but inside the 95% interval is not certain", () => {
    // 20% ahead with margins of 2% and 3%: inside what a second run minutes later may read.
    const c = confidenceOf([full(2, 120, 0.02), full(4, 100, 0.03), base], base, objective);
    expect(c.level).toBe("medium");
    expect(c.reason).toMatch(/leads the runner-up by 20\.0%, but the lead is not certain \(95% interval -\d+\.\d% to \+\d+\.\d%.*\): a second run could pick the runner-up/);
  });

  it("is low when the top two are within noise", () => {
    const c = confidenceOf([full(2, 105, 0.02), full(4, 100, 0.03), base], base, objective);
    expect(c.level).toBe("low");
    expect(c.reason).toMatch(/leads the runner-up by 5\.0% .*: the top two are within noise of each other/);
  });

  it("says when a value was not measured precisely, and never calls that high", () => {
    const c = confidenceOf([full(2, 1000, 1.64), full(4, 100, 0.03), base], base, objective);
    expect(c.reason).toMatch(/the best's own value was not measured precisely \(±164%\)/);
    expect(c.level).not.toBe("high");
  });

  it("compares a metric without margins (latency) on the drift alone, and says so", () => {
    const latency = { metric: "requestLatencyMs", direction: "minimize" as const };
    const t = (w: number, ms: number) => ({ ...full(w, -ms, 0.01) });
    // The measurements' margins describe decode throughput (primary decodeTps), not the latency.
    const c = confidenceOf([t(2, 100), t(4, 200), t(1, 210)], undefined, latency);
    expect(c.reason).toMatch(/is 2\.00x better than the runner-up .*counting ~10\.0% run-to-run drift only: requestLatencyMs has no margin of error of its own\): clearly ahead/);
    expect(c.reason).toMatch(/the best's own value has no margin of error/);
    expect(c.level).toBe("medium");
  });

  it("is low when a short trial beat the recommended configuration", () => {
    const c = confidenceOf([trial({ w: 2 }, 1, 150), trial({ w: 4 }, 1, 120), trial({ w: 8 }, 0.25, 300)], base);
    expect(c.level).toBe("low");
    expect(c.reason).toMatch(/short trial did 100\.0% better/);
  });

  it("is low with nothing measured", () => {
    expect(confidenceOf([], undefined)).toEqual({ level: "low", reason: "no configuration completed a trial" });
  });
});

describe("buildResult's predictions", () => {
  it("come from the one model state given, for every row and the baseline, never from the trials' stored predictions", () => {
    // Each trial stored what the model said before it ran: the baseline's from the uncalibrated
    // prior (10), the best's from a model calibrated on many trials (90). Their ratio (9x) mixes
    // two states of the model; the final model says 100 and 40.
    const base = trial({ w: 1 }, 1, 40);
    base.prediction = { mean: 10, std: 2, source: "roofline" };
    const best = trial({ w: 2 }, 1, 110);
    best.prediction = { mean: 90, std: 9, source: "roofline calibrated on 5 trials" };
    const finalModel = (c: Config) => ({ mean: c.w === 2 ? 100 : 40, std: 5, source: "final" });
    const input: ResultInput = { ...commandRun([base, best]), predict: finalModel };
    const r = buildResult(input);
    expect(r.best!.predicted).toEqual({ mean: 100, std: 5, source: "final" });
    expect(r.best!.speedupPredicted).toBeCloseTo(2.5, 10);
    expect(r.baseline.predicted!.mean).toBe(40);
    expect(r.baseline.speedupPredicted).toBe(1);
    expect(r.best!.speedupMeasured).toBeCloseTo(2.75, 10);
    // Without a model there is no prediction at all, rather than a ratio of two stored ones.
    const none = buildResult({ ...input, predict: undefined });
    expect(none.best!.predicted).toBeNull();
    expect(none.best!.speedupPredicted).toBeNull();
  });
});

describe("buildResult with a final race", () => {
  it("measures a baseline that raced by its race trials, like the other finalists, at the race's fidelity", () => {
    const raced = (config: Config, value: number) => ({ ...trial(config, 0.25, value), phase: "race" as const });
    const trials = [trial({ w: 1 }, 0.25, 60), trial({ w: 1 }, 1, 64), trial({ w: 2 }, 0.25, 160), raced({ w: 1 }, 50), raced({ w: 2 }, 120), raced({ w: 1 }, 46), raced({ w: 2 }, 124)];
    const r = buildResult(commandRun(trials));
    expect(r.race!.fidelity).toBe(0.25);
    expect(r.best!.config).toEqual({ w: 2 });
    expect(r.best!.measured!.mean).toBe(122);
    expect(r.best!.fidelity).toBe(0.25);
    // 122 against the baseline's race mean (48), not against its full trial (64).
    expect(r.baseline.measured!.mean).toBe(48);
    expect(r.best!.speedupMeasured).toBeCloseTo(122 / 48, 10);
    expect(r.baseline.speedupMeasured).toBe(1);
  });
});
