import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { UserInputError } from "../src/errors.js";
import type { HardwareProfile, ModelInfo, Observation } from "../src/types.js";
import { priorHostSecondsPerSequence, RooflineModel, rooflinePriorMean } from "./roofline.js";

// The real data points are the project's reference measurements: llama.cpp on a 16-core Xeon (no SMT), decoding
// TinyLlama-1.1B q4_0 (636,725,824 bytes): 1 process x 16 threads x 1 sequence 88 tok/s; 16 x 1 x 1
// 123 tok/s; 4 x 4 x 16 sequences 318 tok/s; 4 x 8 (2x oversubscribed) 2 tok/s; single-sequence
// decode reached ~58% of measured memory bandwidth, so the machine measured ~97 GB/s
// (88 tok/s x 0.637 GB / 0.58).
// The hardware: probe() with the bandwidth curve, run on the same 16-core Xeon (a device
// machine; its 95.8 GB/s peak matches the reference's ~97), saved by bench/models-record-16core.sh.
export const xeon16: HardwareProfile = JSON.parse(readFileSync(new URL("./data/xeon16.hardware.json", import.meta.url), "utf8"));
// TinyLlama-1.1B's shape (22 layers, 2048 wide, 4 KV heads of 64): KV f16 = 22 x 2 x 256 x 2 bytes/token.
export const tinyllamaQ4: ModelInfo = {
  path: "tinyllama-1.1b-q4_0.gguf", name: "TinyLlama-1.1B", architecture: "llama", quant: "q4_0",
  fileBytes: 636_725_824, weightBytes: 636_725_824, parameterCount: 1_100_048_384, layers: 22, contextLength: 2048,
  embeddingLength: 2048, feedForwardLength: 5632, heads: 32, kvHeads: 4, vocabSize: 32000, kvBytesPerToken: 22 * 2 * 256 * 2,
  identity: "tinyllama",
};
const reference: [number, number, number, number][] = [
  [1, 16, 1, 88],
  [16, 1, 1, 123],
  [4, 4, 16, 318],
  [4, 8, 1, 2],
];
const cfg = (workers: number, threads: number, sequences: number) => ({ workers, threads, sequences });

describe("roofline prior", () => {
  const model = new RooflineModel({ hardware: xeon16, models: tinyllamaQ4 });

  it("orders the reference llama.cpp measurements as they were measured", () => {
    const predicted = reference.map(([w, t, s]) => model.predict(cfg(w, t, s)).mean);
    const measuredOrder = [...reference.keys()].sort((a, b) => reference[a][3] - reference[b][3]);
    const predictedOrder = [...reference.keys()].sort((a, b) => predicted[a] - predicted[b]);
    expect(predictedOrder).toEqual(measuredOrder);
  });

  it("lands within 40% of each measurement before any trial", () => {
    // 4x4x16 is the loosest (prior 435): the reference does not say its prompt and generation lengths,
    // and our own recording of that shape on that machine measured 437 (models/data/).
    for (const [w, t, s, tps] of reference) {
      const p = model.predict(cfg(w, t, s));
      expect(Math.abs(Math.log(p.mean / tps)), `${w}x${t}x${s}: predicted ${p.mean.toFixed(1)} measured ${tps}`).toBeLessThan(Math.log(1.4));
      expect(p.source).toBe("roofline (prior)");
      expect(p.std).toBeGreaterThan(0);
    }
  });

  it("is memory-bound for one sequence, compute-bound for sixteen, and falls off a cliff when oversubscribed", () => {
    expect(model.breakdown(cfg(1, 16, 1)).bound).toBe("memory");
    expect(model.breakdown(cfg(4, 4, 16)).bound).toBe("compute");
    const cliff = model.breakdown(cfg(4, 8, 1));
    expect(cliff.bound).toBe("oversubscribed");
    // Same cores busy, half the threads: the cliff is more than 10x.
    expect(model.predict(cfg(4, 4, 1)).mean / cliff.tokensPerSecond).toBeGreaterThan(10);
    // The cliff's depth is a guess until a trial lands there: its uncertainty says so.
    const p = model.predict(cfg(4, 8, 1));
    expect(p.std / p.mean).toBeGreaterThanOrEqual(1);
  });

  it("gains nothing from threads past bandwidth saturation", () => {
    // The same machine with a bus that saturates at 4 threads (the Xeon's own curve still rises):
    // past that, 8 and 16 threads are memory-bound alike.
    const curve = xeon16.bandwidth!.curve.map((p) => ({ threads: p.threads, gbps: Math.min(p.gbps, 41.53) }));
    const saturated = new RooflineModel({ hardware: { ...xeon16, bandwidth: { ...xeon16.bandwidth!, curve } }, models: tinyllamaQ4 });
    const t8 = saturated.predict(cfg(1, 8, 1)).mean;
    expect(saturated.predict(cfg(1, 16, 1)).mean / t8).toBeLessThan(1.05);
    expect(saturated.predict(cfg(1, 4, 1)).mean).toBeLessThan(t8);
    // On the real curve 16 threads do help, as measured (57.7 -> 87.4 tok/s).
    expect(model.predict(cfg(1, 16, 1)).mean / model.predict(cfg(1, 8, 1)).mean).toBeGreaterThan(1.1);
  });

  it("rejects a quant it has no model file for, naming the ones it has", () => {
    expect(() => model.predict({ ...cfg(1, 16, 1), quant: "q8_0" })).toThrow(UserInputError);
    expect(() => model.predict({ ...cfg(1, 16, 1), quant: "q8_0" })).toThrow(/q8_0/);
  });

  it("scales weight reads with the quant's file size", () => {
    const q8: ModelInfo = { ...tinyllamaQ4, quant: "q8_0", weightBytes: 1_169_319_936, fileBytes: 1_169_319_936 };
    const both = new RooflineModel({ hardware: xeon16, models: [tinyllamaQ4, q8] });
    const ratio = both.predict({ ...cfg(1, 16, 1), quant: "q4_0" }).mean / both.predict({ ...cfg(1, 16, 1), quant: "q8_0" }).mean;
    expect(ratio).toBeGreaterThan(1.4);
  });

  it("exposes a prior-mean function for the Bayesian tuner", () => {
    const mean = rooflinePriorMean({ hardware: xeon16, models: tinyllamaQ4 });
    expect(mean(cfg(16, 1, 1))).toBeCloseTo(model.predict(cfg(16, 1, 1)).mean, 6);
  });
});

describe("roofline calibration", () => {
  const obs = (w: number, t: number, s: number, value: number | null, status: Observation["status"] = "ok"): Observation => ({
    config: cfg(w, t, s), status, value,
  });

  it("fits the reference points better than the prior and narrows its uncertainty", () => {
    const model = new RooflineModel({ hardware: xeon16, models: tinyllamaQ4 });
    const err = () => reference.reduce((s, [w, t, s2, tps]) => s + Math.abs(Math.log(model.mean(cfg(w, t, s2)) / tps)), 0);
    const before = err();
    const priorStd = model.predict(cfg(2, 8, 1)).std / model.predict(cfg(2, 8, 1)).mean;
    model.calibrate(reference.map(([w, t, s, tps]) => obs(w, t, s, tps)));
    expect(err()).toBeLessThan(before);
    expect(model.observations).toBe(4);
    const p = model.predict(cfg(2, 8, 1));
    expect(p.source).toBe("roofline (calibrated on 4)");
    expect(p.std / p.mean).toBeLessThan(priorStd);
  });

  it("moves the bandwidth fraction when single-sequence trials are slower than the prior says", () => {
    const model = new RooflineModel({ hardware: xeon16, models: tinyllamaQ4 });
    const prior = model.parameters.bandwidthFraction;
    // Half the prior's throughput in the memory-bound regime.
    const half = (w: number, t: number) => obs(w, t, 1, model.mean(cfg(w, t, 1)) / 2);
    model.calibrate([half(1, 16), half(16, 1), half(2, 8)]);
    expect(model.parameters.bandwidthFraction).toBeLessThan(prior * 0.7);
    expect(model.predict(cfg(4, 4, 1)).mean).toBeLessThan(new RooflineModel({ hardware: xeon16, models: tinyllamaQ4 }).mean(cfg(4, 4, 1)) * 0.7);
  });

  it("ignores failed trials and returns to the prior with none", () => {
    const model = new RooflineModel({ hardware: xeon16, models: tinyllamaQ4 });
    const prior = model.mean(cfg(4, 4, 4));
    model.calibrate([obs(4, 8, 4, null, "failed"), obs(8, 4, 1, null, "timeout")]);
    expect(model.mean(cfg(4, 4, 4))).toBeCloseTo(prior, 9);
    expect(model.observations).toBe(0);
  });
});

describe("roofline calibration on node-llama-cpp trials (the 16-core AMX Xeon landscape)", () => {
  const file = new URL("../fixtures/landscapes/h100host-qwen05b.jsonl", import.meta.url).pathname;
  const meta = JSON.parse(readFileSync(file.replace(/\.jsonl$/, ".meta.json"), "utf8"));
  const hardware: HardwareProfile = JSON.parse(readFileSync(new URL("../fixtures/landscapes/h100host.hardware.json", import.meta.url), "utf8"));
  const rows = readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
  const observations: Observation[] = rows.map((r) => ({
    config: { workers: r.workers, threads: r.threads, sequences: r.sequences, quant: r.quant },
    status: "ok",
    value: r.decodeTps,
  }));
  const mape = (m: RooflineModel) => observations.reduce((s, o) => s + Math.abs(m.mean(o.config) - o.value!) / o.value!, 0) / observations.length;

  it("learns that 16 rows per step cost less per token than 4 (GEMM kernels), and milliseconds of host work per step", () => {
    // Starting from llama-batched-bench's per-sequence host work (15 us, it samples nothing), not
    // node-llama-cpp's prior, so that the fit has to find the sampler's cost itself.
    const model = new RooflineModel({ hardware, models: meta.models, contextTokens: meta.contextTokens, params: { hostSecondsPerSequence: 1.5e-5 } });
    const p = model.calibrate(observations);
    // 1 thread, q4_0: 32 / 80 / 101 ms per step at 1 / 4 / 16 sequences.
    expect(p.tokenCostAt16Rows).toBeLessThan(p.tokenCostAt4Rows * 0.6);
    expect(p.hostSecondsPerStep).toBeGreaterThan(2e-3);
    // Per-token host work (sampling over a 152k vocabulary) near a millisecond, 20x the start.
    expect(p.hostSecondsPerSequence).toBeGreaterThan(3e-4);
    // q8_0's kernel is slower here than the quant table's guess (1.1 x q4_0's FLOP/s).
    expect(p.quantFactors.q8_0).toBeLessThan(0.9);
    // Fitted on all 90, the shape misses by ~13% (a roofline linear in sequences with a fixed host
    // cost: 25.5%); what is left is mostly one worker at 8-16 threads, which is erratic.
    expect(mape(model)).toBeLessThan(0.15);
  });
});

describe("roofline prior of the per-sequence host work", () => {
  it("is node-llama-cpp's: a fixed part plus the vocabulary the sampler walks, and yields to an explicit setting", () => {
    const wide: ModelInfo = { ...tinyllamaQ4, vocabSize: 152_000, identity: "wide-vocab" };
    expect(priorHostSecondsPerSequence([tinyllamaQ4])).toBeCloseTo(2.5e-4 + 32_000 * 7e-9, 10);
    expect(priorHostSecondsPerSequence([wide])).toBeCloseTo(2.5e-4 + 152_000 * 7e-9, 10);
    const narrowModel = new RooflineModel({ hardware: xeon16, models: tinyllamaQ4 });
    const wideModel = new RooflineModel({ hardware: xeon16, models: wide });
    expect(wideModel.parameters.hostSecondsPerSequence).toBeCloseTo(priorHostSecondsPerSequence([wide]), 10);
    // Sixteen sequences pay the sampling sixteen times a step; one sequence hardly notices.
    const at = (m: RooflineModel, s: number) => m.predict(cfg(1, 16, s)).mean;
    expect(at(wideModel, 16) / at(narrowModel, 16)).toBeLessThan(0.85);
    expect(at(wideModel, 1) / at(narrowModel, 1)).toBeGreaterThan(0.9);
    const pinned = new RooflineModel({ hardware: xeon16, models: wide, params: { hostSecondsPerSequence: 2e-5 } });
    expect(pinned.parameters.hostSecondsPerSequence).toBe(2e-5);
    // A model file without a vocabulary size gets the fixed part only.
    expect(priorHostSecondsPerSequence([{ ...tinyllamaQ4, vocabSize: 0 }])).toBe(2.5e-4);
  });
});

describe("roofline calibration with mixed quants", () => {
  it("skips trials of a quant it has no model file for instead of failing", () => {
    const model = new RooflineModel({ hardware: xeon16, models: tinyllamaQ4 });
    model.calibrate([
      { config: { workers: 1, threads: 16, sequences: 1, quant: "q8_0" }, status: "ok", value: 50 },
      { config: { workers: 1, threads: 16, sequences: 1, quant: "q4_0" }, status: "ok", value: 87.4 },
    ]);
    expect(model.observations).toBe(1);
  });
});

describe("roofline with GPU offload", () => {
  it("gets faster as layers move to the probed H100, and the GPU is shared by the workers", () => {
    expect(xeon16.gpus[0]?.name).toMatch(/H100/);
    const model = new RooflineModel({ hardware: xeon16, models: tinyllamaQ4 });
    const at = (gpuLayers: number, workers = 1) => model.predict({ workers, threads: 16 / workers, sequences: 1, gpuLayers }).mean;
    expect(at(11)).toBeGreaterThan(at(0));
    expect(at(22)).toBeGreaterThan(at(11) * 2);
    // Fully offloaded, four workers split one GPU's bandwidth: less than 4x one worker.
    expect(at(22, 4)).toBeLessThan(4 * at(22));
  });
});
