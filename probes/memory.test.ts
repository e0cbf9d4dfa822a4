import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseInactiveFile, parseMeminfo, readMemory } from "./memory.js";
import { kernelFiles } from "./sysfs.js";

const HW = new URL("../fixtures/hardware/", import.meta.url);
const text = (p: string) => readFileSync(new URL(p, HW), "utf8");
const tree = (p: string) => kernelFiles(new URL(p, HW).pathname);
const GIB = 1024 ** 3;

describe("memory", () => {
  it("reads /proc/meminfo of the H200 host and the dev VM", () => {
    expect(parseMeminfo(text("h200x2-32core/meminfo.txt"))).toEqual({ totalBytes: 263998500 * 1024, availableBytes: 263398608 * 1024 });
    expect(parseMeminfo(text("dev-2core-amd/meminfo.txt"))).toEqual({ totalBytes: 24683656 * 1024, availableBytes: 24252268 * 1024 });
  });
  it("counts the cgroup's inactive file cache as reclaimable (v2 and v1 names)", () => {
    expect(parseInactiveFile("anon 5\ninactive_file 1024\nactive_file 7")).toBe(1024);
    expect(parseInactiveFile("cache 1\ninactive_file 3\ntotal_inactive_file 1024")).toBe(3);
  });
  it("inside an 8 GiB cgroup with 768 MiB of working set, 7.25 GiB are available", () => {
    const m = readMemory(tree("synthetic/cgroup-v2-quota4-on-64core"));
    expect(m.totalBytes).toBe(263998500 * 1024);
    expect(m.availableBytes).toBe(8 * GIB - (GIB - GIB / 4));
  });
  it("cgroup v1: 4 GiB limit, 2 GiB used of which 1 GiB inactive file: 3 GiB available", () => {
    expect(readMemory(tree("synthetic/cgroup-v1-quota2.5-docker")).availableBytes).toBe(3 * GIB);
  });
  it("the dev VM's tree: no limit, host numbers", () => {
    const m = readMemory(tree("dev-2core-amd/tree"));
    expect(m.totalBytes).toBe(parseMeminfo(text("dev-2core-amd/tree/proc/meminfo")).totalBytes);
  });
});
