import { describe, expect, it } from "vitest";
import { GaussianProcess } from "./gp.js";
import { enumerate } from "../src/space.js";
import { createRng } from "../src/random.js";
import type { Config, SearchSpace } from "../src/types.js";

const space: SearchSpace = {
  params: [
    { name: "threads", kind: "ordinal", values: [1, 2, 4, 8, 16, 32] },
    { name: "sequences", kind: "ordinal", values: [1, 2, 4, 8, 16] },
    { name: "quant", kind: "categorical", values: ["q4_0", "q8_0"] },
  ],
  constraints: [],
};

// A smooth, known throughput surface: rises with log threads until 8, saturates with sequences,
// q4_0 is faster than q8_0 by a constant factor.
function truth(c: Config): number {
  const t = Math.log2(Number(c.threads));
  const s = Math.log2(Number(c.sequences));
  const base = 100 * (1 + t - 0.18 * t * t) * (1 + 0.6 * s - 0.08 * s * s);
  return c.quant === "q4_0" ? base * 1.6 : base;
}

describe("GaussianProcess", () => {
  const all = enumerate(space);

  it("interpolates noiseless data and its std shrinks to ~0 at observed points", () => {
    const rng = createRng(3);
    const train = all.filter(() => rng() < 0.3);
    const gp = new GaussianProcess(space, { fixed: { noiseRatio: 1e-8 } });
    gp.fitPoints(train, train.map(truth));
    const unobserved = all.filter((c) => !train.includes(c));
    const atTrain = gp.predictMany(train);
    const away = gp.predictMany(unobserved);
    train.forEach((c, i) => {
      expect(atTrain[i].mean).toBeCloseTo(truth(c), 2);
      expect(atTrain[i].std).toBeLessThan(0.01 * truth(c));
    });
    const meanStdAway = away.reduce((s, p) => s + p.std, 0) / away.length;
    const meanStdAt = atTrain.reduce((s, p) => s + p.std, 0) / atTrain.length;
    expect(meanStdAway).toBeGreaterThan(20 * meanStdAt);
  });

  it("predicts held-out configurations of a smooth surface within 10% on average", () => {
    const rng = createRng(11);
    const train = all.filter(() => rng() < 0.4);
    const test = all.filter((c) => !train.includes(c));
    const gp = new GaussianProcess(space);
    gp.fitPoints(train, train.map(truth));
    const errors = gp.predictMany(test).map((p, i) => Math.abs(p.mean - truth(test[i])) / truth(test[i]));
    const mape = errors.reduce((a, b) => a + b, 0) / errors.length;
    expect(mape).toBeLessThan(0.1);
    // The quant factor is constant, so the categorical similarity should be learned as high.
    expect(gp.hyperparameters.similarities[0]).toBeGreaterThanOrEqual(0.5);
  });

  it("learns a larger noise estimate from noisy data than from clean data", () => {
    const rng = createRng(5);
    const train = all.filter(() => rng() < 0.6);
    const clean = new GaussianProcess(space);
    clean.fitPoints(train, train.map(truth));
    const noisy = new GaussianProcess(space);
    noisy.fitPoints(
      train,
      train.map((c) => truth(c) * (1 + 0.15 * (rng() - 0.5) * 2)),
    );
    expect(noisy.noiseStd).toBeGreaterThan(2 * clean.noiseStd);
    expect(Number.isFinite(noisy.logMarginalLikelihood)).toBe(true);
  });

  it("uses a prior mean: with two points it already predicts the prior's shape", () => {
    const train = [all[0], all[all.length - 1]];
    const withPrior = new GaussianProcess(space, { priorMean: (c) => truth(c) / 2 });
    withPrior.fitPoints(train, train.map(truth));
    const far = all.find((c) => c.threads === 8 && c.sequences === 4 && c.quant === "q4_0")!;
    expect(withPrior.predict(far).mean).toBeCloseTo(truth(far), 0);
  });

  it("ignores failed observations in fit and refuses to predict without data", () => {
    const gp = new GaussianProcess(space);
    expect(() => gp.predict(all[0])).toThrow(/before fit/);
    gp.fit([
      { config: all[0], status: "ok", value: 10 },
      { config: all[1], status: "failed", value: null },
    ]);
    expect(gp.observationCount).toBe(1);
    expect(gp.predict(all[0]).mean).toBeCloseTo(10, 3);
  });
});
