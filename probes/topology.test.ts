import os from "node:os";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { kernelFiles, type KernelFiles } from "./sysfs.js";
import { parseLscpuParsable, readSysTopology, summarizeTopology } from "./topology.js";

const HW = new URL("../fixtures/hardware/", import.meta.url);
const text = (p: string) => readFileSync(new URL(p, HW), "utf8");

describe("lscpu -p", () => {
  it("reads the 32-core H200 host (colon cache columns): 32 cores, no SMT, 1 socket, 1 node", () => {
    const t = summarizeTopology(parseLscpuParsable(text("h200x2-32core/lscpu-p.txt")));
    expect(t).toMatchObject({ logical: 32, physical: 32, sockets: 1, threadsPerCore: 1 });
    expect(t.smtSiblings[31]).toEqual([31]);
    expect(t.numaNodes).toEqual([{ id: 0, cpus: Array.from({ length: 32 }, (_, i) => i) }]);
  });
  it("reads the 16-core H100 host", () => {
    expect(summarizeTopology(parseLscpuParsable(text("h100-16core/lscpu-p.txt")))).toMatchObject({ logical: 16, physical: 16, sockets: 1, threadsPerCore: 1 });
  });
  it("reads the 2-core dev VM (comma cache columns)", () => {
    const t = summarizeTopology(parseLscpuParsable(text("dev-2core-amd/lscpu-p.txt")));
    expect(t).toMatchObject({ logical: 2, physical: 2, sockets: 1, threadsPerCore: 1, smtSiblings: [[0], [1]] });
  });
  it("groups SMT siblings and NUMA nodes (synthetic 2-socket SMT layout)", () => {
    const t = summarizeTopology(parseLscpuParsable(text("synthetic/lscpu-p-2socket-smt.txt")));
    expect(t).toMatchObject({ logical: 16, physical: 8, sockets: 2, threadsPerCore: 2 });
    expect(t.smtSiblings).toEqual([[0, 8], [1, 9], [2, 10], [3, 11], [4, 12], [5, 13], [6, 14], [7, 15]]);
    expect(t.numaNodes.map((n) => n.cpus)).toEqual([[0, 1, 2, 3, 8, 9, 10, 11], [4, 5, 6, 7, 12, 13, 14, 15]]);
  });
});

describe("/sys topology", () => {
  it("reads the dev VM's captured tree", () => {
    const rows = readSysTopology(kernelFiles(new URL("dev-2core-amd/tree", HW).pathname));
    expect(rows).not.toBeNull();
    expect(summarizeTopology(rows!)).toMatchObject({ logical: 2, physical: 2, sockets: 1, numaNodes: [{ id: 0, cpus: [0, 1] }] });
  });
  it("reads the dev VM's topology dump (file: value lines)", () => {
    // topology.txt is "cpu0/core_id: 0" lines; serve them as the files they came from.
    const files = new Map<string, string>([["/sys/devices/system/cpu/online", "0-1"]]);
    for (const line of text("dev-2core-amd/topology.txt").split("\n")) {
      const m = /^(cpu\d+)\/(\w+): (.*)$/.exec(line);
      if (m) files.set(`/sys/devices/system/cpu/${m[1]}/topology/${m[2]}`, m[3]);
    }
    const fs: KernelFiles = { read: (p) => files.get(p) ?? null, list: () => [] };
    const t = summarizeTopology(readSysTopology(fs)!);
    expect(t).toMatchObject({ logical: 2, physical: 2, sockets: 1, smtSiblings: [[0], [1]] });
  });
  it("returns null when /sys has no topology, so the caller falls back to lscpu", () => {
    expect(readSysTopology(kernelFiles(new URL("synthetic/cgroup-v2-cpuset-0-3,8-11", HW).pathname))).toBeNull();
  });
  it.runIf(process.platform === "linux")("reads this machine: one row per online CPU", () => {
    const rows = readSysTopology(kernelFiles("/"));
    expect(summarizeTopology(rows!).logical).toBe(os.cpus().length);
  });
});
