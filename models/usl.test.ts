import { describe, expect, it } from "vitest";
import { createRng } from "../src/random.js";
import type { Observation } from "../src/types.js";
import { fitUsl, UslModel } from "./usl.js";

const usl = (n: number, lambda: number, sigma: number, kappa: number) => (lambda * n) / (1 + sigma * (n - 1) + kappa * n * (n - 1));

describe("fitUsl", () => {
  it("recovers contention and coherency from exact points and finds the peak", () => {
    const points = [1, 2, 4, 8, 16, 32].map((n) => ({ n, x: usl(n, 10, 0.1, 0.01) }));
    const fit = fitUsl(points);
    expect(fit.lambda).toBeCloseTo(10, 1);
    expect(fit.sigma).toBeCloseTo(0.1, 2);
    expect(fit.kappa).toBeCloseTo(0.01, 3);
    expect(fit.peak).toBeCloseTo(Math.sqrt(0.9 / 0.01), 0);
    expect(fit.predict(12).mean).toBeCloseTo(usl(12, 10, 0.1, 0.01), 0);
  });

  it("is less sure far outside the points it saw than inside them", () => {
    const rng = createRng(7);
    const points = [1, 2, 3, 4].map((n) => ({ n, x: usl(n, 5, 0.05, 0.002) * (1 + 0.04 * (rng() - 0.5)) }));
    const fit = fitUsl(points);
    const inside = fit.predict(3);
    const outside = fit.predict(64);
    expect(outside.std / outside.mean).toBeGreaterThan(inside.std / inside.mean);
  });

  it("stays at linear scaling when two points show no loss", () => {
    const fit = fitUsl([{ n: 1, x: 10 }, { n: 2, x: 20 }]);
    expect(fit.predict(4).mean).toBeGreaterThan(35);
    expect(fit.predict(4).mean).toBeLessThan(41);
  });
});

describe("UslModel", () => {
  const truth = (w: number, t: number, s: number) => 3 * (usl(w, 1, 0.2, 0.01) * usl(t, 1, 0.3, 0.02) * usl(s, 1, 0.05, 0.002));
  const obs = (w: number, t: number, s: number): Observation => ({ config: { workers: w, threads: t, sequences: s }, status: "ok", value: truth(w, t, s) });

  it("fits one factor per varying dimension and predicts an unseen combination", () => {
    const model = new UslModel({ usableCpus: 16 });
    model.fit([obs(1, 1, 1), obs(2, 1, 1), obs(4, 1, 1), obs(8, 1, 1), obs(1, 2, 1), obs(1, 4, 1), obs(1, 8, 1), obs(1, 1, 4), obs(1, 1, 16), obs(2, 4, 2), obs(4, 2, 8)]);
    const p = model.predict({ workers: 2, threads: 8, sequences: 4 });
    expect(Math.abs(p.mean / truth(2, 8, 4) - 1)).toBeLessThan(0.1);
    expect(p.source).toBe("usl (workersxthreadsxsequences, fitted on 11)");
  });

  it("leaves oversubscribed trials out and predicts them at the cliff, with a wide interval", () => {
    const model = new UslModel({ usableCpus: 4 });
    model.fit([obs(1, 1, 1), obs(2, 1, 1), obs(4, 1, 1), { config: { workers: 8, threads: 1, sequences: 1 }, status: "ok", value: 0.1 }]);
    expect(model.predict({ workers: 4, threads: 1, sequences: 1 }).mean).toBeCloseTo(truth(4, 1, 1), 0);
    const cliff = model.predict({ workers: 8, threads: 1, sequences: 1 });
    expect(cliff.mean).toBeLessThan(truth(4, 1, 1) * 0.1);
    expect(cliff.std).toBeGreaterThanOrEqual(cliff.mean);
  });

  it("scales along a command's own counts (np x t), with no cliff at this machine's cores", () => {
    const x = (n: number) => (100 * n) / (1 + 0.05 * (n - 1) + 0.002 * n * (n - 1));
    const o = (np: number, t: number): Observation => ({ config: { np, t }, status: "ok", value: x(np * t) });
    const model = new UslModel({ usableCpus: 2, dimensions: ["np", "t"] });
    model.fit([o(1, 1), o(2, 1), o(1, 2), o(2, 2), o(4, 1), o(1, 4)]);
    // np=4 x t=2 is past the 2 usable CPUs of this machine, but a launcher may run it on several hosts.
    // One USL factor per count only approximates a law over their product: within 15%, not 0.02x.
    const p = model.predict({ np: 4, t: 2 });
    expect(Math.abs(p.mean / x(8) - 1)).toBeLessThan(0.15);
    expect(p.source).toBe("usl (npxt, fitted on 6)");
  });

  it("refuses to predict before any successful trial", () => {
    const model = new UslModel();
    model.fit([{ config: { workers: 1 }, status: "failed", value: null }]);
    expect(() => model.predict({ workers: 1 })).toThrow(/at least one successful trial/);
  });
});
