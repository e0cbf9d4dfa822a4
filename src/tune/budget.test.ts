import { describe, expect, it } from "vitest";
import { Budget, DeadlineReached, TrialCostModel, TrialLimitReached } from "./budget.js";

describe("Budget", () => {
  it("counts from its start on the clock it is given", () => {
    let now = 1000;
    const b = new Budget(5000, () => now);
    now = 3000;
    expect(b.elapsedMs()).toBe(2000);
    expect(b.remainingMs()).toBe(3000);
    now = 7000;
    expect(b.remainingMs()).toBe(0);
    expect(b.expired()).toBe(true);
  });

  it("aborts a trial's signal at the deadline, or at the trial's own limit", async () => {
    const atDeadline = new Budget(100).trialSignal();
    await new Promise((r) => setTimeout(r, 200));
    expect(atDeadline.signal.reason).toBeInstanceOf(DeadlineReached);
    atDeadline.dispose();
    const limited = new Budget(10_000).trialSignal(undefined, 0, 50);
    await new Promise((r) => setTimeout(r, 150));
    expect(limited.signal.reason).toBeInstanceOf(TrialLimitReached);
    limited.dispose();
  });

  it("passes on the user's interrupt", () => {
    const user = new AbortController();
    const t = new Budget(10_000).trialSignal(user.signal);
    user.abort(new Error("ctrl-c"));
    expect(t.signal.aborted).toBe(true);
    expect((t.signal.reason as Error).message).toBe("ctrl-c");
    t.dispose();
  });
});

describe("TrialCostModel", () => {
  it("knows nothing before the first trial", () => {
    expect(new TrialCostModel().estimate(1)).toBeNull();
  });
  it("uses the 75th percentile at a fidelity it has seen", () => {
    const c = new TrialCostModel();
    for (const d of [1000, 2000, 3000, 4000, 5000]) c.record(0.25, d);
    expect(c.estimate(0.25)).toBe(4000);
  });
  it("scales up proportionally from one fidelity, and along a line from two", () => {
    const c = new TrialCostModel();
    c.record(0.25, 2000);
    expect(c.estimate(1)).toBe(8000);
    // start-up 1.5 s + 2 s per unit of fidelity
    c.record(1, 3500);
    expect(c.estimate(0.5)).toBeCloseTo(2500, 6);
    expect(c.estimate(0.01)).toBe(2000);
  });
  it("scales the estimate up for a configuration doing more work than the typical trial, never down", () => {
    const c = new TrialCostModel();
    for (const d of [2000, 2000, 2000]) c.record(0.25, d, 1);
    c.record(0.25, 2000, 2);
    expect(c.estimateFor(0.25, 8)).toBe(16000);
    expect(c.estimateFor(0.25, 0.5)).toBe(2000);
  });
});
