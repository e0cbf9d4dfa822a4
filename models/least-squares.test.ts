import { describe, expect, it } from "vitest";
import { deltaVariance, leastSquares } from "./least-squares.js";

describe("leastSquares", () => {
  it("fits a line with unequal sigmas to the weighted solution (ml-levenberg-marquardt's weights are not used)", () => {
    // Three precise points on y = 2x + 1 and one far-off imprecise point: the fit must follow the
    // precise ones. Passing sigmas as the library's `weights` pulled it toward the outlier.
    const x = [0, 1, 2, 3];
    const y = [1, 3, 5, 20];
    const fit = leastSquares({ model: (p, i) => p[0] + p[1] * x[i], y, sigma: [0.01, 0.01, 0.01, 100], initial: [0, 0] });
    expect(fit.params[0]).toBeCloseTo(1, 3);
    expect(fit.params[1]).toBeCloseTo(2, 3);
  });

  it("holds an unconstrained parameter at its prior and reports the prior's spread for it", () => {
    const fit = leastSquares({
      model: (p) => p[0],
      y: [3, 3.2],
      initial: [0, 5],
      prior: { mean: [0, 5], sd: [100, 0.5] },
    });
    expect(fit.params[0]).toBeCloseTo(3.1, 3);
    expect(fit.params[1]).toBeCloseTo(5, 6);
    expect(Math.sqrt(fit.covariance[1][1])).toBeGreaterThan(0.2);
  });

  it("counts the parameters the data pinned down, not those the priors held", () => {
    const x = [0, 1, 2, 3, 4];
    const y = x.map((v) => 1 + 2 * v + (v % 2 ? 0.05 : -0.05));
    const line = (p: number[], i: number) => p[0] + p[1] * x[i];
    // No priors: both parameters are the data's.
    expect(leastSquares({ model: line, y, initial: [0, 0] }).effectiveParameters).toBeCloseTo(2, 6);
    // A tight prior on the slope: about one parameter is left to the data.
    const held = leastSquares({ model: line, y, sigma: x.map(() => 0.1), initial: [0, 2], prior: { mean: [0, 2], sd: [100, 1e-4] } });
    expect(held.effectiveParameters).toBeGreaterThan(0.95);
    expect(held.effectiveParameters).toBeLessThan(1.05);
  });

  it("propagates parameter covariance to a prediction by the delta method", () => {
    const v = deltaVariance((p) => 2 * p[0] + p[1], [1, 1], [[1, 0], [0, 4]]);
    expect(v).toBeCloseTo(4 * 1 + 4, 6);
  });
});
