import { describe, expect, it } from "vitest";
import { percentile, summarize, tCritical95 } from "./statistics.js";

describe("summarize", () => {
  it("gives the mean and the t-based relative margin of error", () => {
    // mean 10, sample sd 1, n = 4: sem 0.5, t(3) = 3.182, half-width 1.591
    const s = summarize([9, 10, 11, 10]);
    expect(s.mean).toBe(10);
    expect(s.rme).toBeCloseTo((Math.sqrt(2 / 3) / 2) * 3.182 / 10, 6);
    expect(summarize([5]).rme).toBe(Number.POSITIVE_INFINITY);
    expect(tCritical95(1000)).toBe(1.96);
  });
  it("interpolates percentiles", () => {
    expect(percentile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(Number.isNaN(percentile([], 0.5))).toBe(true);
  });
});
