// The GPU step of the roofline against what full offload measured on the H200 host
// (fixtures/landscapes/h200host-tinyllama-gpu.jsonl: 18 configurations of synthetic tinyllama-1.1b).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Config, HardwareProfile, ModelInfo } from "../src/types.js";
import { RooflineModel } from "./roofline.js";
import { gpuStep, sharedStepSeconds } from "./gpu-step.js";

const at = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const meta = JSON.parse(readFileSync(at("../fixtures/landscapes/h200host-tinyllama-gpu.meta.json"), "utf8")) as { models: ModelInfo[]; contextTokens: number };
const hardware = JSON.parse(readFileSync(at("../fixtures/hardware/h200-16core/profile.json"), "utf8")) as HardwareProfile;
const rows = readFileSync(at("../fixtures/landscapes/h200host-tinyllama-gpu.jsonl"), "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l) as Config & { ok: number; decodeTps?: number })
  .filter((r) => r.ok === 1 && Number(r.gpuLayers) > 0);

describe("the GPU step", () => {
  it("is the GPU's busy time alone for one worker, and every worker's GPU time once the GPU is the bound", () => {
    const step = { gpuSeconds: 0.01, hostSeconds: 0.02 };
    expect(sharedStepSeconds(0, step, 1)).toBeCloseTo(0.03);
    // Four workers fill each other's host gaps: still 30 ms a step...
    expect(sharedStepSeconds(0, step, 3)).toBeCloseTo(0.03);
    // ...until their GPU time adds up to more.
    expect(sharedStepSeconds(0, step, 8)).toBeCloseTo(0.08);
    // Weights are read once per step whatever the sequences; host work grows with them.
    const one = gpuStep({ offload: 1, bytes: 6e8, flops: 2.2e9, layers: 22, sequences: 1, vocabSize: 32000, workers: 1, gbps: 4800 });
    const many = gpuStep({ offload: 1, bytes: 6e8, flops: 256 * 2.2e9, layers: 22, sequences: 256, vocabSize: 32000, workers: 1, gbps: 4800 });
    expect(many.hostSeconds).toBeGreaterThan(50 * one.hostSeconds);
    expect(many.gpuSeconds).toBeLessThan(30 * one.gpuSeconds);
  });

  it("as the tuner's prior, picks within 10% of the best the H200 host measured, and ranks full offload by workers", () => {
    const model = new RooflineModel({ hardware, models: meta.models, contextTokens: meta.contextTokens });
    const predicted = rows.map((r) => model.predict(r).mean);
    const pick = rows[predicted.indexOf(Math.max(...predicted))];
    const best = Math.max(...rows.map((r) => r.decodeTps!));
    expect(pick.decodeTps! / best).toBeGreaterThan(0.9);
    // Before any trial the error is that of a prior: under 35% on every row, ~15-20% typical.
    const errors = rows.map((r, i) => Math.abs(Math.log(predicted[i] / r.decodeTps!)));
    expect(Math.max(...errors)).toBeLessThan(Math.log(1.45));
    expect(errors.reduce((a, b) => a + b, 0) / errors.length).toBeLessThan(0.25);
  });

  it("scales a worker's host work with the vocabulary: the 8B model's 128k entries cost four times tinyllama's 32k", () => {
    const meta8b = JSON.parse(readFileSync(at("../fixtures/landscapes/h200host-llama8b-gpu.meta.json"), "utf8")) as { models: ModelInfo[]; contextTokens: number };
    const rows8b = readFileSync(at("../fixtures/landscapes/h200host-llama8b-gpu.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Config & { decodeTps: number });
    const model = new RooflineModel({ hardware, models: meta8b.models, contextTokens: meta8b.contextTokens });
    // One worker with 256 sequences is host-bound (189 ms a step, most of it sampling the 128k
    // logits of each sequence): with a host cost per sequence that ignored the vocabulary, the
    // prior would read it 1.78x high.
    const one = rows8b.find((r) => r.workers === 1)!;
    expect(model.predict(one).mean / one.decodeTps).toBeGreaterThan(0.8);
    expect(model.predict(one).mean / one.decodeTps).toBeLessThan(1.2);
    // More workers hide each other's host time: the prior never ranks fewer above more.
    const byWorkers = [...rows8b].sort((a, b) => Number(a.workers) - Number(b.workers)).map((r) => model.predict(r).mean);
    for (let i = 1; i < byWorkers.length; i++) expect(byWorkers[i]).toBeGreaterThanOrEqual(byWorkers[i - 1] * 0.999);
  });

  it("calibrates on GPU trials without moving the CPU constants", () => {
    const model = new RooflineModel({ hardware, models: meta.models, contextTokens: meta.contextTokens });
    const before = model.parameters;
    const beforeCpu = model.mean({ workers: 4, threads: 4, sequences: 16, gpuLayers: 0, quant: "q4_0" });
    model.fit(rows.slice(0, 8).map((r) => ({ config: r, status: "ok" as const, value: r.decodeTps!, fidelity: 1 })));
    expect(model.parameters).toEqual(before);
    expect(model.mean({ workers: 4, threads: 4, sequences: 16, gpuLayers: 0, quant: "q4_0" })).toBeCloseTo(beforeCpu, 6);
    // The GPU rows it was told about are now predicted closer than the prior did.
    const err = (m: RooflineModel) => rows.slice(0, 8).reduce((s, r) => s + Math.abs(Math.log(m.predict(r).mean / r.decodeTps!)), 0);
    expect(err(model)).toBeLessThan(err(new RooflineModel({ hardware, models: meta.models, contextTokens: meta.contextTokens })));
  });
});
