import { describe, expect, it } from "vitest";
import type { CpuInfo, GpuInfo, Limits, MemoryInfo } from "../src/types.js";
import { fingerprint, fingerprintInputs, memoryClassGiB } from "./fingerprint.js";

const GIB = 1024 ** 3;
const cpu: CpuInfo = {
  arch: "x64", vendor: "Intel", model: "Intel(R) Xeon(R) Processor", logical: 32, physical: 32, sockets: 1, threadsPerCore: 1,
  smtSiblings: [], numaNodes: [{ id: 0, cpus: [] }], l2Bytes: null, l3Bytes: null, isa: ["avx2", "amx_int8"],
};
const limits: Limits = { cpus: 32, allowedCpus: [], cpuSource: "all 32 online CPUs", memoryBytes: null };
const memory: MemoryInfo = { totalBytes: 251.8 * GIB, availableBytes: 250 * GIB };
const gpu = (name: string, free: number): GpuInfo => ({ index: 0, name, uuid: "GPU-x", vramBytes: 141 * GIB, vramFreeBytes: free, computeCapability: "9.0", driver: "580", pcieGen: 5, pcieWidth: 16 });

describe("fingerprint", () => {
  it("classes memory by the nearest power of two", () => {
    expect(memoryClassGiB(23.5 * GIB)).toBe(32);
    expect(memoryClassGiB(251.8 * GIB)).toBe(256);
    expect(memoryClassGiB(125 * GIB)).toBe(128);
  });
  it("ignores what drifts: free memory, free VRAM, a few MiB of MemTotal, ISA order", () => {
    const a = fingerprint(fingerprintInputs(cpu, limits, memory, [gpu("NVIDIA H200", 100 * GIB)]));
    const b = fingerprint(
      fingerprintInputs({ ...cpu, isa: ["amx_int8", "avx2"] }, limits, { totalBytes: memory.totalBytes - 8 * 1024 ** 2, availableBytes: 10 * GIB }, [gpu("NVIDIA H200", 3 * GIB)]),
    );
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(b).toBe(a);
  });
  it("changes with what decides speed: usable CPUs, a memory limit, the GPUs", () => {
    const base = fingerprint(fingerprintInputs(cpu, limits, memory, []));
    expect(fingerprint(fingerprintInputs(cpu, { ...limits, cpus: 4 }, memory, []))).not.toBe(base);
    expect(fingerprint(fingerprintInputs(cpu, { ...limits, memoryBytes: 8 * GIB }, memory, []))).not.toBe(base);
    expect(fingerprint(fingerprintInputs(cpu, limits, memory, [gpu("NVIDIA H100 80GB HBM3", 0)]))).not.toBe(base);
  });
});
