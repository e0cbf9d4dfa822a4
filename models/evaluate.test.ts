import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadLandscape, parseLandscape } from "../src/landscape.js";
import { checkPick, evaluatePredictions, loadLandscapeContext, predictOnLandscape, renderLandscapeEvaluation, replicateCheck, type MeasuredPoint } from "./evaluate.js";
import { UserInputError } from "../src/errors.js";
import { createPerformanceModel } from "./index.js";
import { insideInterval, predictionInterval } from "./interval.js";
import type { PerformanceModel } from "../src/types.js";
import { pessimisticParams, RooflineModel } from "./roofline.js";
import { SurrogateModel } from "./surrogate.js";

/** A recorded landscape with its sidecar: the points to score and the options of its models. */
function loadRecorded(path: string) {
  const context = loadLandscapeContext(path);
  const landscape = parseLandscape(readFileSync(path, "utf8"), path, { params: context.params!, objective: context.objective! });
  const points: MeasuredPoint[] = landscape.rows.map((r) => ({ config: r.config, value: r.value }));
  const options = { hardware: context.hardware, models: context.models, contextTokens: context.contextTokens, space: landscape.space };
  const roofline = () => new RooflineModel({ hardware: context.hardware!, models: context.models!, contextTokens: context.contextTokens });
  return { context, landscape, points, options, roofline };
}

// A real landscape: 51 configurations of llama-batched-bench (synthetic TinyLlama-1.1B q4_0) on the
// 16-core Xeon, recorded by bench/models-record-16core.sh; its sidecar carries the probed hardware
// profile and the model file's ModelInfo.
const file = new URL("./data/xeon16-tinyllama-q4_0.jsonl", import.meta.url).pathname;
const { context, landscape, points, options } = loadRecorded(file);

describe("landscape context", () => {
  it("reads the hardware profile and model info named by the sidecar", () => {
    expect(context.hardware?.cpu.logical).toBe(16);
    expect(context.hardware?.bandwidth?.curve.length).toBeGreaterThan(2);
    expect(context.models?.[0].quant).toBe("q4_0");
    expect(context.contextTokens).toBe(56);
  });

  it("returns nothing for a landscape without a sidecar", () => {
    expect(loadLandscapeContext("/nonexistent/landscape.jsonl")).toEqual({});
  });
});

describe("coverage", () => {
  it("counts a measurement as covered by the same log-normal 95% interval that predict and the report print", () => {
    // mean 100, std 60: log sd 0.555, interval 33.7-296.5. A linear mean +- 2 std (-20..220) would
    // call 15 covered (a throughput interval through zero) and 250 not.
    const model: PerformanceModel = { name: "fixed", fit: () => {}, predict: () => ({ mean: 100, std: 60, source: "fixed" }) };
    const [lo, hi] = predictionInterval(model.predict({}));
    expect(lo).toBeCloseTo(33.7, 1);
    expect(hi).toBeCloseTo(296.5, 1);
    const at = (value: number) => evaluatePredictions([{ config: { a: 1 }, value: 1 }, { config: { a: 2 }, value }], () => model, { k: 1, repeats: 1 });
    expect(at(15).splits[0].checks.filter((c) => c.measured === 15).map((c) => c.covered)).toEqual([false]);
    expect(at(250).splits[0].checks.filter((c) => c.measured === 250).map((c) => c.covered)).toEqual([true]);
    expect(insideInterval({ mean: 100, std: 60, source: "x" }, 250)).toBe(true);
  });
});

describe("prediction accuracy on the recorded Xeon landscape", () => {
  it("calibrated on 8 random trials, predicts the other configurations within 15% on average", () => {
    const ev = evaluatePredictions(points, () => createPerformanceModel(options), { k: 8, repeats: 3, seed: 11 });
    expect(ev.splits).toHaveLength(3);
    expect(ev.splits.every((s) => s.trained === 8 && s.tested > 35)).toBe(true);
    expect(ev.mape).toBeLessThan(0.15);
    // The stated uncertainty is honest: most held-out measurements fall inside the 95% interval.
    expect(ev.coverage).toBeGreaterThan(0.85);
  });

  it("picks, before any trial, a configuration that measures within 25% of the true best", () => {
    const pick = checkPick(points, new RooflineModel({ hardware: context.hardware!, models: context.models!, contextTokens: context.contextTokens }));
    expect(pick.bestMeasured).toBeCloseTo(506.72, 2);
    expect(pick.fractionOfBest).toBeGreaterThan(0.75);
  });

  it("recovers from a prior that is 2x off in every constant after 8 trials (a machine the prior does not know)", () => {
    const params = pessimisticParams(2, context.models!);
    const make = () => createPerformanceModel({ ...options, rooflineParams: params });
    const before = evaluatePredictions(points, make, { k: 0, repeats: 1 });
    const after = evaluatePredictions(points, make, { k: 8, repeats: 3, seed: 2 });
    expect(before.mape).toBeGreaterThan(0.3);
    expect(after.mape).toBeLessThan(0.15);
  });

  it("scores the GP surrogate too, and its error falls as it sees more trials", () => {
    const make = () => new SurrogateModel(landscape.space, new RooflineModel({ hardware: context.hardware!, models: context.models!, contextTokens: context.contextTokens }));
    const few = evaluatePredictions(points, make, { k: 4, repeats: 3, seed: 5 });
    const many = evaluatePredictions(points, make, { k: 30, repeats: 3, seed: 5 });
    expect(many.mape).toBeLessThan(few.mape);
    expect(many.splits[0].sources[0]).toMatch(/^gp x roofline/);
  });

  it("rejects a K that leaves nothing to score", () => {
    expect(() => evaluatePredictions(points, () => createPerformanceModel(options), { k: points.length })).toThrow(RangeError);
  });
});

describe("replay --predict", () => {
  it("reports the error after K trials, the models that answered and the roofline's pick before any trial", () => {
    const e = predictOnLandscape(landscape, { k: 8, repeats: 2, seed: 1 });
    expect(e.roofline).toBe(true);
    expect(e.configurations).toBe(51);
    expect(e.mape).toBeLessThan(0.15);
    expect(Object.keys(e.sources).some((s) => s.startsWith("roofline"))).toBe(true);
    expect(e.prior!.pick.fractionOfBest).toBeGreaterThan(0.75);
    const text = renderLandscapeEvaluation(e);
    expect(text).toMatch(/mean absolute percentage error \d+\.\d%/);
    expect(text).toMatch(/roofline before any trial/);
  });

  it("says what to do when K is out of range", () => {
    expect(() => predictOnLandscape(landscape, { k: 51 })).toThrow(UserInputError);
    expect(() => predictOnLandscape(landscape, { k: -1 })).toThrow(/from 0 to 50/);
  });
});

// Out of sample: paratune's own workload (node-llama-cpp, qwen2.5-0.5b q4_0/q8_0) on a 16-core
// Xeon with AMX, 90 configurations; nothing in the roofline's prior was set from it.
describe("prediction accuracy on the 16-core landscape of our own workload", () => {
  const h100 = loadRecorded(new URL("../fixtures/landscapes/h100host-qwen05b.jsonl", import.meta.url).pathname);
  const { points: h100Points, options: h100Options } = h100;

  it("calibrated on 8 random trials, predicts the rest within 25% on average (29% before the kernel-regime and host terms)", () => {
    // Seeded draws: the same 12 draws gave 26.3% with the roofline linear in sequences and a
    // fixed 0.2 ms host cost; 15%, the target, is not reached (docs/models.md says why).
    const ev = evaluatePredictions(h100Points, () => createPerformanceModel(h100Options), { k: 8, repeats: 12, seed: 1 });
    expect(ev.mape).toBeLessThan(0.25);
    // Near the nominal 95% (0.893 with these draws): neither overconfident nor uselessly wide.
    expect(ev.coverage).toBeGreaterThan(0.85);
    expect(ev.coverage).toBeLessThan(0.99);
  });

  it("picks, before any trial, a configuration within 25% of the true best", () => {
    const pick = checkPick(h100Points, h100.roofline());
    expect(pick.bestMeasured).toBeCloseTo(1516.96, 1);
    expect(pick.fractionOfBest).toBeGreaterThan(0.75);
  });
});

// Held out: a third model shape (llama-3.2-1b, q4_0/q8_0) of our own workload on the same kind of
// 16-core machine, recorded after every constant of the roofline was set; 41 of the
// grid's 90 configurations (a random subset: the device time ran out).
describe("prediction accuracy on a held-out 16-core landscape", () => {
  const { points, options, roofline } = loadRecorded(new URL("../fixtures/landscapes/h100host-llama32-1b-p1.jsonl", import.meta.url).pathname);

  it("calibrated on 8 random trials, predicts the rest within 15% on average, the issue's target", () => {
    // 12 seeded draws; 20 draws read 12.4% (seeds 1-20) and 13.5% (101-120).
    const ev = evaluatePredictions(points, () => createPerformanceModel(options), { k: 8, repeats: 12, seed: 1 });
    expect(ev.scorable).toBe(41);
    expect(ev.mape).toBeLessThan(0.15);
    // Near the nominal 95% (0.886 with these draws).
    expect(ev.coverage).toBeGreaterThan(0.85);
    expect(ev.coverage).toBeLessThan(0.99);
  });

  it("picks, before any trial, a configuration within 25% of the best it measured", () => {
    const pick = checkPick(points, roofline());
    expect(pick.fractionOfBest).toBeGreaterThan(0.75);
  });
});

describe("replay --predict against another recording of the grid", () => {
  const params = ["workers", "threads"];
  const write = (dir: string, name: string, rows: object[]) => writeFileSync(join(dir, name), rows.map((r) => JSON.stringify(r)).join("\n") + "\n");

  it("reads the replicate named by the sidecar as a prediction of the landscape: its error on the configurations both measured", () => {
    const dir = mkdtempSync(join(tmpdir(), "paratune-replicate-"));
    try {
      write(dir, "a.jsonl", [
        { workers: 1, threads: 1, decodeTps: 100 },
        { workers: 1, threads: 2, decodeTps: 200 },
        { workers: 2, threads: 1, ok: 0 },
        { workers: 2, threads: 2, decodeTps: 400 },
      ]);
      // 110 for 100 (10%), 150 for 200 (25%); 2x1 failed here, 2x2 was not measured there.
      write(dir, "b.jsonl", [
        { workers: 1, threads: 1, decodeTps: 110 },
        { workers: 1, threads: 2, decodeTps: 150 },
        { workers: 2, threads: 1, decodeTps: 300 },
      ]);
      writeFileSync(join(dir, "a.meta.json"), JSON.stringify({ replicates: "b.jsonl" }));
      expect(loadLandscapeContext(join(dir, "a.jsonl")).replicates).toEqual([join(dir, "b.jsonl")]);
      const a = loadLandscape(join(dir, "a.jsonl"), { params, objective: "decodeTps" });
      const check = replicateCheck(a, join(dir, "b.jsonl"));
      expect(check.shared).toBe(2);
      expect(check.mape).toBeCloseTo(0.175, 10);
      const e = predictOnLandscape(a, { k: 1, repeats: 1, seed: 1 });
      expect(e.replicates).toEqual([check]);
      expect(renderLandscapeEvaluation(e)).toContain("another recording of this grid (b.jsonl), read as a prediction of this one: error 17.5% on 2 shared configurations");
      // The same for a minimised objective: comparing two recordings needs no model.
      const minimized = loadLandscape(join(dir, "a.jsonl"), { params, objective: "decodeTps", direction: "minimize" });
      expect(predictOnLandscape(minimized, { k: 1, repeats: 1, seed: 1 }).replicates).toEqual([check]);
      // The landscape itself, or a file named twice, is not another recording.
      writeFileSync(join(dir, "a.meta.json"), JSON.stringify({ replicates: ["a.jsonl", "b.jsonl", "./b.jsonl"] }));
      expect(loadLandscapeContext(join(dir, "a.jsonl")).replicates).toEqual([join(dir, "b.jsonl")]);
      // A sidecar that names a file that is not there, or no file name, is the user's mistake, said in one line.
      writeFileSync(join(dir, "a.meta.json"), JSON.stringify({ replicates: ["missing.jsonl"] }));
      expect(() => predictOnLandscape(a, { k: 1, repeats: 1, seed: 1 })).toThrow(UserInputError);
      expect(() => predictOnLandscape(a, { k: 1, repeats: 1, seed: 1 })).toThrow(/a\.meta\.json names .*missing\.jsonl in "replicates": cannot read landscape/);
      writeFileSync(join(dir, "a.meta.json"), JSON.stringify({ replicates: [{ file: "b.jsonl" }] }));
      expect(() => loadLandscapeContext(join(dir, "a.jsonl"))).toThrow(/"replicates" must be a landscape file name or a list of them/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gives the recorded 16-core landscape's spread against its earlier recording", () => {
    const file = new URL("../fixtures/landscapes/h100host-qwen05b-p1.jsonl", import.meta.url).pathname;
    const { landscape } = loadRecorded(file);
    // K = 0: the replicate is compared whatever K; no calibration is needed for that.
    const e = predictOnLandscape(landscape, { k: 0, repeats: 1, seed: 1 });
    expect(e.replicates).toHaveLength(1);
    expect(e.replicates[0].file).toMatch(/h100host-qwen05b\.jsonl$/);
    expect(e.replicates[0].shared).toBe(90);
    // Mean |log ratio| 0.149 between the two (docs/measurements/2026-11-25-models.md); as an error of the
    // pool-of-four recording predicting this one, 13.3%, against the adaptive model's 18.4% at K=8.
    expect(e.replicates[0].mape).toBeCloseTo(0.1332, 3);
  });
});
