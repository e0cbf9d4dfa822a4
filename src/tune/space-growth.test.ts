import { describe, expect, it } from "vitest";
import type { SearchSpace, TrialRecord } from "../types.js";
import { EdgeGrowth } from "./space-growth.js";

const space: SearchSpace = {
  params: [
    { name: "workers", kind: "int", min: 1, max: 4, log: true },
    { name: "sequences", kind: "int", min: 1, max: 16, log: true },
  ],
  // 4 workers x 128 sequences or more does not fit: the growth must stop short of it.
  constraints: [{ name: "memory", check: (c) => (Number(c.workers) * Number(c.sequences) > 256 ? "needs more memory" : null) }],
};

function trial(id: number, workers: number, sequences: number, value: number, fidelity = 1): TrialRecord {
  return {
    id,
    config: { workers, sequences },
    fidelity,
    value,
    measurement: { status: "ok", metrics: {}, primary: "x", samples: [value], warmup: 0, rme: 0.05, durationMs: 1, fidelity: { level: fidelity } },
    startedAt: "",
    elapsedMs: id,
  };
}

const growth = new EdgeGrowth([{ param: "sequences", ceiling: 256, ceilingWhy: "llama.cpp's limit" }]);
const maxOf = (s: SearchSpace, name: string) => (s.params.find((p) => p.name === name) as { max: number }).max;

describe("EdgeGrowth", () => {
  it("leaves the space alone while the best lie inside it", () => {
    expect(growth.grow(space, [trial(0, 1, 4, 100), trial(1, 2, 8, 150), trial(2, 1, 1, 20)])).toBeNull();
    expect(growth.ends(space, [trial(0, 1, 4, 100)])).toEqual([{ param: "sequences", max: 16, why: "the best configurations lie inside the range" }]);
  });

  it("grows a range when one of the best sits on its upper edge, and says why", () => {
    const trials = [trial(0, 1, 4, 100), trial(1, 2, 16, 150), trial(2, 1, 1, 20)];
    const grown = growth.grow(space, trials)!;
    expect(maxOf(grown.space, "sequences")).toBe(64);
    expect(grown.events).toEqual([{ param: "sequences", from: 16, to: 64, afterTrials: 3, why: "the first best configuration measured has sequences=16, the range's upper edge" }]);
    // Other ranges are untouched.
    expect(maxOf(grown.space, "workers")).toBe(4);
  });

  it("judges the edge by full trials, not by short ones that happen to read high", () => {
    const trials = [trial(0, 1, 4, 100), trial(1, 2, 16, 900, 0.25)];
    expect(growth.grow(space, trials)).toBeNull();
  });

  it("stops at what the constraints allow for the leading configuration, then at the ceiling", () => {
    const wide: SearchSpace = { ...space, params: [space.params[0], { name: "sequences", kind: "int", min: 1, max: 32, log: true }] };
    // 4 workers: 64 sequences fit (256), 128 would not.
    const grown = growth.grow(wide, [trial(0, 4, 32, 500)])!;
    expect(maxOf(grown.space, "sequences")).toBe(64);
    expect(growth.grow(grown.space, [trial(0, 4, 64, 600)])).toBeNull();
    expect(growth.ends(grown.space, [trial(0, 4, 64, 600)])[0].why).toMatch(/infeasible for the leading configurations/);
    const top: SearchSpace = { ...space, params: [space.params[0], { name: "sequences", kind: "int", min: 1, max: 256, log: true }] };
    expect(growth.ends(top, [trial(0, 1, 256, 600)])[0]).toEqual({ param: "sequences", max: 256, why: "llama.cpp's limit" });
  });
});
