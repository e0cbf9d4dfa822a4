import { readFileSync } from "node:fs";
import os from "node:os";
import { describe, expect, it } from "vitest";
import { parseCpuList } from "./cpulist.js";
import { cgroupDirs, parseCfsQuota, parseCpuMax, parseMemoryLimit, parseMountinfo, parseProcCgroup, readLimits, usableCpuCount } from "./limits.js";
import { kernelFiles } from "./sysfs.js";

const HW = new URL("../fixtures/hardware/", import.meta.url);
const tree = (p: string) => kernelFiles(new URL(p, HW).pathname);

describe("cgroup file parsers", () => {
  it("reads cpu.max and CFS quotas", () => {
    expect(parseCpuMax("400000 100000\n")).toBe(4);
    expect(parseCpuMax("max 100000")).toBeNull();
    expect(parseCpuMax("150000 100000")).toBe(1.5);
    expect(parseCfsQuota("250000\n", "100000\n")).toBe(2.5);
    expect(parseCfsQuota("-1", "100000")).toBeNull();
  });
  it("reads memory limits, with v1's 'unlimited' page-rounded 2^63", () => {
    expect(parseMemoryLimit("max\n")).toBeNull();
    expect(parseMemoryLimit("9223372036854771712\n")).toBeNull();
    expect(parseMemoryLimit("4294967296")).toBe(4294967296);
  });
  it("maps the dev VM's hybrid v1 layout to controller folders", () => {
    const fs = tree("dev-2core-amd/tree");
    const memberships = parseProcCgroup(fs.read("/proc/self/cgroup")!);
    const mounts = parseMountinfo(fs.read("/proc/self/mountinfo")!);
    expect(mounts.filter((m) => m.version === 1)).toHaveLength(9);
    expect(cgroupDirs(memberships, mounts, "memory")).toEqual({
      version: 1,
      dirs: ["/sys/fs/cgroup/memory/job/a1", "/sys/fs/cgroup/memory/job", "/sys/fs/cgroup/memory"],
    });
    expect(cgroupDirs(memberships, mounts, "cpu")).toEqual({ version: 1, dirs: ["/sys/fs/cgroup/cpu"] });
  });
});

describe("usable CPUs and memory limit", () => {
  it("cgroup v2: 4 CPUs of quota on a 64-core host are 4 usable", () => {
    const l = readLimits(tree("synthetic/cgroup-v2-quota4-on-64core"));
    expect(l.cpus).toBe(4);
    expect(l.allowedCpus).toHaveLength(64);
    expect(l.cpuSource).toBe("cgroup v2 cpu.max 400000/100000");
    expect(l.memoryBytes).toBe(8 * 1024 ** 3);
    expect(usableCpuCount(tree("synthetic/cgroup-v2-quota4-on-64core"))).toBe(4);
  });
  it("cgroup v1 in Docker: a 2.5-CPU CFS quota, 2 whole threads", () => {
    const fs = tree("synthetic/cgroup-v1-quota2.5-docker");
    const l = readLimits(fs);
    expect(l.cpus).toBe(2.5);
    expect(l.cpuSource).toBe("cgroup v1 cpu.cfs_quota_us/cfs_period_us 250000/100000");
    expect(l.memoryBytes).toBe(4 * 1024 ** 3);
    expect(usableCpuCount(fs)).toBe(2);
  });
  it("cgroup v2 cpuset 0-3,8-11 leaves 8 CPUs", () => {
    const l = readLimits(tree("synthetic/cgroup-v2-cpuset-0-3,8-11"));
    expect(l.cpus).toBe(8);
    expect(l.allowedCpus).toEqual([0, 1, 2, 3, 8, 9, 10, 11]);
    expect(l.cpuSource).toBe("cgroup cpuset 0-3,8-11");
    expect(l.memoryBytes).toBeNull();
  });
  it("a quota and memory limit on an ancestor cgroup apply to the process", () => {
    const l = readLimits(tree("synthetic/cgroup-v2-ancestor-limit"));
    expect(l.cpus).toBe(2);
    // The container's own cgroup has no cpuset file; the pod's "0-7" applies.
    expect(l.allowedCpus).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(l.memoryBytes).toBe(2 * 1024 ** 3);
  });
  it("a memory limit above the RAM is no limit (the H100 host: 128 GiB over 125.9 GiB)", () => {
    const l = readLimits(tree("synthetic/cgroup-v2-limit-above-ram"));
    expect(l).toEqual({ cpus: 16, allowedCpus: Array.from({ length: 16 }, (_, i) => i), cpuSource: "all 16 online CPUs", memoryBytes: null });
  });
  it("the dev VM's captured tree: no quota, both CPUs", () => {
    const l = readLimits(tree("dev-2core-amd/tree"));
    expect(l).toEqual({ cpus: 2, allowedCpus: [0, 1], cpuSource: "all 2 online CPUs", memoryBytes: null });
  });
  it.runIf(process.platform === "linux")("this process: never more than its affinity allows", () => {
    const l = readLimits(kernelFiles("/"));
    const affinity = parseCpuList(/^Cpus_allowed_list:\s*(.*)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1]);
    expect(l.allowedCpus.every((c) => affinity.includes(c))).toBe(true);
    expect(l.cpus).toBeGreaterThan(0);
    expect(l.cpus).toBeLessThanOrEqual(os.cpus().length);
  });
});
