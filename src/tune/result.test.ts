import { describe, expect, it } from "vitest";
import type { Config, TrialRecord } from "../types.js";
import { confidenceOf, rankTrials, speedup } from "./result.js";

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

describe("rankTrials", () => {
  it("ranks each configuration by its highest-fidelity trial, full ones first, failures out", () => {
    const a = { w: 1 };
    const b = { w: 2 };
    const c = { w: 4 };
    const d = { w: 8 };
    const ranked = rankTrials([trial(a, 0.25, 50), trial(a, 1, 40), trial(b, 0.25, 90), trial(c, 1, 30), trial(d, 0.25, null)]);
    expect(ranked.map((t) => [t.config.w, t.fidelity, t.value])).toEqual([
      [1, 1, 40],
      [4, 1, 30],
      [2, 0.25, 90],
    ]);
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
  it("is high when the best leads by more than both margins of error and the run-to-run drift", () => {
    const c = confidenceOf([trial({ w: 2 }, 1, 150, 0.02), trial({ w: 4 }, 1, 120, 0.03), base], base);
    expect(c.level).toBe("high");
    expect(c.reason).toMatch(/leads the runner-up by 25\.0%/);
    expect(c.reason).toMatch(/~10\.0% run-to-run drift/);
  });
  it("is not high when the lead clears the margins of error but not the drift", () => {
    // 12% ahead with margins of 2% and 3%: within what a second run minutes later may read.
    const c = confidenceOf([trial({ w: 2 }, 1, 112, 0.02), trial({ w: 4 }, 1, 100, 0.03), base], base);
    expect(c.level).toBe("medium");
    expect(confidenceOf([trial({ w: 2 }, 1, 105, 0.02), trial({ w: 4 }, 1, 100, 0.03), base], base).level).toBe("low");
  });
  it("is low when the top two are within noise", () => {
    expect(confidenceOf([trial({ w: 2 }, 1, 101, 0.04), trial({ w: 4 }, 1, 100, 0.04)], base).level).toBe("low");
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
