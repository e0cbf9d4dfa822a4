import { describe, expect, it } from "vitest";
import { configKey, encodeConfig, enumerate, feasibleConfigs, paramValues, parseParamSpec } from "./space.js";
import type { SearchSpace } from "./types.js";

const space: SearchSpace = {
  params: [
    { name: "workers", kind: "int", min: 1, max: 16, log: true },
    { name: "sequences", kind: "ordinal", values: [1, 2, 4] },
    { name: "quant", kind: "categorical", values: ["q4_0", "q8_0"] },
  ],
  constraints: [{ name: "cores", check: (c) => (Number(c.workers) * Number(c.sequences) > 16 ? "too many" : null) }],
};

describe("search space", () => {
  it("expands log integers to powers of two", () => {
    expect(paramValues(space.params[0])).toEqual([1, 2, 4, 8, 16]);
    expect(paramValues({ name: "t", kind: "int", min: 1, max: 6, log: true })).toEqual([1, 2, 4, 6]);
  });

  it("enumerates the product and filters by constraints", () => {
    expect(enumerate(space)).toHaveLength(5 * 3 * 2);
    const feasible = feasibleConfigs(space);
    expect(feasible.every((c) => Number(c.workers) * Number(c.sequences) <= 16)).toBe(true);
    expect(feasible).toHaveLength(30 - 2 * 3); // (8,4) (16,2) (16,4) for each quant
  });

  it("encodes log-scale ints and one-hot categoricals", () => {
    const v = encodeConfig(space, { workers: 4, sequences: 4, quant: "q8_0" });
    expect(v[0]).toBeCloseTo(0.5);
    expect(v[1]).toBeCloseTo(1);
    expect(v.slice(2)).toEqual([0, 1]);
  });

  it("keys configs independently of field order", () => {
    expect(configKey({ a: 1, b: "x" })).toBe(configKey({ b: "x", a: 1 }));
  });

  it("parses value lists and ranges", () => {
    expect(parseParamSpec("w", "8,1,2,2")).toEqual({ name: "w", kind: "ordinal", values: [1, 2, 8] });
    expect(parseParamSpec("t", "1..16:log")).toEqual({ name: "t", kind: "int", min: 1, max: 16, log: true });
    expect(parseParamSpec("q", "q4_0,f16").kind).toBe("categorical");
    expect(() => parseParamSpec("t", "9..2")).toThrow(/empty/);
  });
});
