import { readFileSync } from "node:fs";
import os from "node:os";
import { describe, expect, it } from "vitest";
import { parseLscpuCaches, parseCacheSize } from "./caches.js";
import { isaFlags, parseCpuinfo, parseLscpuSummary, readCpu, vendorName } from "./cpu.js";
import { kernelFiles } from "./sysfs.js";

const HW = new URL("../fixtures/hardware/", import.meta.url);
const text = (p: string) => readFileSync(new URL(p, HW), "utf8");

describe("/proc/cpuinfo", () => {
  it("reads the H200 host's Sapphire-Rapids-class flags, AMX included", () => {
    const c = parseCpuinfo(text("h200x2-32core/cpuinfo-head.txt"));
    expect(vendorName(c.vendor)).toBe("Intel");
    expect(c.model).toBe("Intel(R) Xeon(R) Processor");
    expect(isaFlags("x64", c.flags)).toEqual([
      "sse3", "ssse3", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512bw", "avx512vl",
      "avx512vbmi", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16",
    ]);
  });
  it("reads the dev VM's sample: AVX2 and FMA, no AVX-512", () => {
    const c = parseCpuinfo(text("dev-2core-amd/cpuinfo-head.txt"));
    expect(vendorName(c.vendor)).toBe("AMD");
    const isa = isaFlags("x64", c.flags);
    expect(isa).toEqual(expect.arrayContaining(["avx2", "fma", "f16c"]));
    expect(isa).not.toContain("avx512f");
  });
  it("maps Arm feature names to ggml's (synthetic Features line in the kernel's hwcap names)", () => {
    const c = parseCpuinfo("processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull asimdhp asimddp sve sve2 i8mm bf16\nCPU implementer\t: 0x41\nCPU part\t: 0xd4f\n");
    expect(vendorName(c.vendor)).toBe("ARM");
    expect(c.model).toBeNull();
    expect(isaFlags("arm64", c.flags)).toEqual(["neon", "fp16", "dotprod", "i8mm", "bf16", "sve", "sve2"]);
  });
});

describe("lscpu summary", () => {
  it("gives per-instance cache sizes on the H200 host", () => {
    const s = parseLscpuSummary(text("h200x2-32core/lscpu.txt"));
    expect(s.get("Model name")).toBe("Intel(R) Xeon(R) Processor");
    expect(parseLscpuCaches(s)).toEqual({ l2Bytes: 2 * 1024 ** 2, l3Bytes: 300 * 1024 ** 2, l3Instances: 1 });
  });
  it("reads the H100 host's L3 from its short summary", () => {
    const s = parseLscpuSummary(text("h100-16core/lscpu-and-nvidia-smi-L.txt"));
    expect(s.get("CPU(s)")).toBe("16");
    expect(parseLscpuCaches(s)?.l3Bytes).toBe(300 * 1024 ** 2);
  });
  it("reads the H100 host's full lscpu: 2 MiB L2 per core, 300 MiB L3", () => {
    expect(parseLscpuCaches(parseLscpuSummary(text("h100-16core/lscpu.txt")))).toEqual({ l2Bytes: 2 * 1024 ** 2, l3Bytes: 300 * 1024 ** 2, l3Instances: 1 });
    expect(isaFlags("x64", (parseLscpuSummary(text("h100-16core/lscpu.txt")).get("Flags") ?? "").split(" "))).toContain("amx_int8");
  });
  it("parses both size spellings", () => {
    expect(parseCacheSize("32768K")).toBe(32 * 1024 ** 2);
    expect(parseCacheSize("1.5 MiB")).toBe(1.5 * 1024 ** 2);
    expect(parseCacheSize("512 KB")).toBe(512 * 1024);
    expect(parseCacheSize("huge")).toBeNull();
  });
});

describe("readCpu", () => {
  it("reads the dev VM's captured tree", async () => {
    const { info, l3TotalBytes } = await readCpu(kernelFiles(new URL("dev-2core-amd/tree", HW).pathname), "x64");
    expect(info).toMatchObject({ vendor: "AMD", model: "AMD EPYC", logical: 2, physical: 2, sockets: 1, l2Bytes: 1024 ** 2, l3Bytes: 32 * 1024 ** 2 });
    expect(l3TotalBytes).toBe(32 * 1024 ** 2);
    expect(info.isa).toContain("avx2");
  });
  it("reads this machine", async () => {
    const { info } = await readCpu(kernelFiles("/"));
    expect(info.logical).toBe(os.cpus().length);
    expect(info.physical).toBeGreaterThan(0);
    expect(info.physical).toBeLessThanOrEqual(info.logical);
    expect(info.smtSiblings.flat().sort((a, b) => a - b)).toHaveLength(info.logical);
    if (process.arch === "x64") expect(info.isa).toContain("sse3");
  });
});
