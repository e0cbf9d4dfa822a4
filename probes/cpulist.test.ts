import { describe, expect, it } from "vitest";
import { formatCpuList, parseCpuList } from "./cpulist.js";

describe("CPU lists", () => {
  it("parses ranges and singles", () => {
    expect(parseCpuList("0-3,8-11\n")).toEqual([0, 1, 2, 3, 8, 9, 10, 11]);
    expect(parseCpuList("5")).toEqual([5]);
    expect(parseCpuList("")).toEqual([]);
  });
  it("parses the stride form: the first 2 of every 4", () => {
    expect(parseCpuList("0-15:2/4")).toEqual([0, 1, 4, 5, 8, 9, 12, 13]);
  });
  it("rejects text that is not a list", () => {
    expect(() => parseCpuList("zero")).toThrow(/not a CPU list/);
  });
  it("formats back to the short form", () => {
    expect(formatCpuList([11, 0, 1, 2, 3, 8, 9, 10])).toBe("0-3,8-11");
    expect(formatCpuList([4])).toBe("4");
  });
});
