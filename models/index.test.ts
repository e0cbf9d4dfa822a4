import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseLandscape } from "../src/landscape.js";
import { createRng, shuffle } from "../src/random.js";
import type { Config, Observation } from "../src/types.js";
import { loadLandscapeContext } from "./evaluate.js";
import { createPerformanceModel, FoldAverage } from "./index.js";

// The recorded 16-core Xeon landscape (see evaluate.test.ts).
const file = new URL("./data/xeon16-tinyllama-q4_0.jsonl", import.meta.url).pathname;
const context = loadLandscapeContext(file);
const landscape = parseLandscape(readFileSync(file, "utf8"), file, { params: context.params!, objective: context.objective! });
const observations: Observation[] = shuffle(createRng(3), landscape.rows).map((r) => ({
  config: r.config,
  status: r.value === null ? "timeout" : "ok",
  value: r.value,
}));

describe("createPerformanceModel", () => {
  it("answers with the roofline prior before any trial, and calibrates it on the first few", () => {
    const model = createPerformanceModel({ hardware: context.hardware, models: context.models, space: landscape.space });
    expect(model.predict({ workers: 4, threads: 4, sequences: 4 }).source).toBe("roofline (prior)");
    model.fit(observations.slice(0, 3));
    expect(model.predict({ workers: 4, threads: 4, sequences: 4 }).source).toMatch(/^roofline \(calibrated on \d\)$/);
  });

  it("chooses between the calibrated roofline and the GP by cross-validation once it has enough trials", () => {
    const model = createPerformanceModel({ hardware: context.hardware, models: context.models, contextTokens: 56, space: landscape.space });
    model.fit(observations.slice(0, 20));
    expect(Object.keys(model.scores).sort()).toEqual(["roofline", "surrogate"]);
    const best = Object.entries(model.scores).reduce((a, b) => (b[1] < a[1] ? b : a))[0];
    const source = model.predict({ workers: 2, threads: 8, sequences: 4 }).source;
    expect(source.startsWith(best === "roofline" ? "roofline" : "gp x roofline")).toBe(true);
  });

  it("without hardware or model file, uses the USL and the GP on what was measured", () => {
    const model = createPerformanceModel({ space: landscape.space });
    expect(() => model.predict({ workers: 1, threads: 1, sequences: 1 })).toThrow(/no performance model can predict yet/);
    model.fit(observations.slice(0, 12));
    expect(Object.keys(model.scores).sort()).toEqual(["surrogate", "usl"]);
    const p = model.predict({ workers: 2, threads: 8, sequences: 4 });
    expect(p.mean).toBeGreaterThan(0);
    expect(p.source).toMatch(/^(usl|gp) /);
  });
});

describe("the adaptive model averages its cross-validation fold fits", () => {
  // Out of sample for the roofline's constants: qwen2.5-0.5b under node-llama-cpp on the 16-core
  // AMX Xeon (docs/models.md). Ten terms fitted to 8 trials are noisy; the geometric mean of the
  // fit on all of them and the 8 leave-one-out fits the model selection made anyway is steadier.
  const qFile = new URL("../fixtures/landscapes/h100host-qwen05b.jsonl", import.meta.url).pathname;
  const qContext = loadLandscapeContext(qFile);
  const qLandscape = parseLandscape(readFileSync(qFile, "utf8"), qFile, { params: ["workers", "threads", "sequences", "quant"], objective: "decodeTps" });

  it("predicts the held-out configurations better than the single fit, on 8 trials", () => {
    let averaged = 0;
    let single = 0;
    const draws = 6;
    for (let seed = 1; seed <= draws; seed++) {
      const order = shuffle(createRng(seed), qLandscape.rows);
      const model = createPerformanceModel({ hardware: qContext.hardware, models: qContext.models, contextTokens: qContext.contextTokens, space: qLandscape.space });
      model.fit(order.slice(0, 8).map((r) => ({ config: r.config, status: "ok", value: r.value })));
      const current = model.current as FoldAverage;
      expect(current).toBeInstanceOf(FoldAverage);
      expect(current.folds).toHaveLength(8);
      const held = order.slice(8);
      const mape = (m: { predict: (c: Config) => { mean: number } }) => held.reduce((s, r) => s + Math.abs(m.predict(r.config).mean - r.value!) / r.value!, 0) / held.length;
      averaged += mape(model) / draws;
      single += mape(current.full) / draws;
      expect(model.predict(held[0].config).source).toMatch(/averaged with 8 fold fits$/);
    }
    expect(averaged).toBeLessThan(single);
  });
});
