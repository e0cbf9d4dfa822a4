import { describe, expect, it } from "vitest";
import { DRIFT_SD, RUN_TO_RUN_DRIFT, separation, summaryFromMargin, summaryOf } from "./separation.js";

describe("summaries", () => {
  it("take the standard error of the mean from samples, or back from a 95% margin", () => {
    const s = summaryOf([90, 100, 110]);
    expect(s.mean).toBe(100);
    expect(s.se).toBeCloseTo(10 / Math.sqrt(3), 10);
    expect(s.n).toBe(3);
    // The measurement's rme is t(2) x se / mean = 4.303 x 5.774 / 100.
    const back = summaryFromMargin(100, (4.303 * s.se) / 100, 3);
    expect(back.se).toBeCloseTo(s.se, 10);
    expect(summaryOf([5]).se).toBeNaN();
    expect(summaryFromMargin(5, Number.POSITIVE_INFINITY, 3).se).toBeNaN();
  });
});

describe("separation", () => {
  it("counts the drift as a spread: sd of a normal log ratio whose mean |value| is the measured drift", () => {
    expect(DRIFT_SD).toBeCloseTo(RUN_TO_RUN_DRIFT * 1.2533, 4);
    // Exact means (se 0): only the drift is left, and the interval is the drift's.
    const s = separation({ mean: 125, se: 0, n: 3 }, { mean: 100, se: 0, n: 3 })!;
    expect(s.ratio).toBeCloseTo(1.25, 10);
    expect(s.se).toBeCloseTo(DRIFT_SD, 10);
    expect(s.interval[0]).toBeCloseTo(1.25 * Math.exp(-1.96 * DRIFT_SD), 6);
    // A 25% lead is inside what a repeat minutes later may read (exp(1.96 x 0.125) = 1.28); 35% is not.
    expect(s.separated).toBe(false);
    expect(separation({ mean: 135, se: 0, n: 3 }, { mean: 100, se: 0, n: 3 })!.separated).toBe(true);
  });

  it("adds the two standard errors and the drift in quadrature, not the half-widths", () => {
    // 95% margins of 30.1% and 3.9% from 3 repetitions each: relative se 0.070 and 0.0091.
    const a = summaryFromMargin(248.8, 0.301, 3);
    const b = summaryFromMargin(100, 0.039, 3);
    const s = separation(a, b)!;
    const expected = Math.sqrt((0.301 / 4.303) ** 2 + (0.039 / 4.303) ** 2 + DRIFT_SD ** 2);
    expect(s.se).toBeCloseTo(expected, 3);
    expect(s.ratio).toBeCloseTo(2.488, 3);
    // A 149% lead clears that noise: the whole 95% interval lies above 1.
    expect(s.separated).toBe(true);
    expect(s.interval[0]).toBeGreaterThan(1.5);
  });

  it("uses Welch's degrees of freedom: few noisy repetitions widen the interval beyond 1.96 se", () => {
    const a = summaryFromMargin(130, 0.5, 3);
    const b = summaryFromMargin(100, 0.02, 10);
    const s = separation(a, b, { driftSd: 0 })!;
    // Nearly all the variance is a's, with 2 degrees of freedom.
    expect(s.df).toBeGreaterThan(2);
    expect(s.df).toBeLessThan(2.2);
    expect(Math.log(s.interval[1] / s.ratio) / s.se).toBeCloseTo(4.303, 2);
    expect(s.separated).toBe(false);
  });

  it("reads a minimised metric the other way round, and refuses what it cannot compare", () => {
    const s = separation({ mean: 50, se: 1, n: 4 }, { mean: 100, se: 2, n: 4 }, { direction: "minimize", driftSd: 0 })!;
    expect(s.ratio).toBeCloseTo(2, 10);
    expect(s.separated).toBe(true);
    expect(separation({ mean: 50, se: Number.NaN, n: 1 }, { mean: 100, se: 2, n: 4 })).toBeNull();
    expect(separation({ mean: 0, se: 1, n: 4 }, { mean: 100, se: 2, n: 4 })).toBeNull();
  });
});
