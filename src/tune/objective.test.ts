import { describe, expect, it } from "vitest";
import type { Measurement } from "../types.js";
import { addRequestLatency, REQUEST_LATENCY } from "./objective.js";

const measured = (ttftP50Ms: number, latencyP50Ms: number): Measurement => ({
  status: "ok",
  metrics: { decodeTps: 100, ttftP50Ms, latencyP50Ms },
  primary: "decodeTps",
  samples: [100],
  warmup: 1,
  rme: 0.01,
  durationMs: 1000,
  fidelity: { level: 1 },
});

describe("addRequestLatency", () => {
  it("is the measured median request latency when the trial generated the full length", () => {
    expect(addRequestLatency(measured(20, 330), 32, 32).metrics[REQUEST_LATENCY]).toBe(330);
  });
  it("scales a short trial's decode part to the full length, so that short and full trials compare", () => {
    // 8 tokens: 7 decode steps of 10 ms after a 20 ms first token; 32 tokens would take 31 steps.
    expect(addRequestLatency(measured(20, 90), 32, 8).metrics[REQUEST_LATENCY]).toBe(20 + 310);
  });
  it("leaves a failed trial alone", () => {
    const failed: Measurement = { ...measured(1, 2), status: "failed", metrics: {} };
    expect(addRequestLatency(failed, 32, 8)).toBe(failed);
  });
});
