import { describe, expect, it } from "vitest";
import { parseDuration } from "./duration.js";
import { UserInputError } from "./errors.js";

describe("parseDuration", () => {
  it("reads the forms people type", () => {
    expect(parseDuration("10m")).toBe(600_000);
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("45")).toBe(45_000);
    expect(parseDuration("1.5m")).toBe(90_000);
  });
  it("rejects the rest with one line that names what was asked for", () => {
    for (const bad of ["ten", "ten minutes", "10x", "", "m", "0s", "5m garbage"]) expect(() => parseDuration(bad)).toThrow(UserInputError);
    expect(() => parseDuration("soon", "budget")).toThrow(/budget "soon" is not a duration/);
  });
});
