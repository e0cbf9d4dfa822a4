// The CPU: who made it, what it is, how it is laid out, and which vector instructions it has.
// Read from /proc and /sys (a few milliseconds); `lscpu` and systeminformation fill gaps on
// machines that hide those files or are not Linux.
import { execFileSync } from "node:child_process";
import os from "node:os";
import type { CpuInfo } from "../src/types.js";
import { parseLscpuCaches, readSysCaches, type CacheSizes } from "./caches.js";
import type { KernelFiles } from "./sysfs.js";
import { parseLscpuParsable, readSysTopology, summarizeTopology, type CpuPlacement } from "./topology.js";

export interface CpuinfoSummary {
  vendor: string | null;
  model: string | null;
  /** x86 "flags" or Arm "Features", as the kernel names them. */
  flags: string[];
}

/** Reads the first processor block of /proc/cpuinfo (all blocks repeat the same flags). */
export function parseCpuinfo(text: string): CpuinfoSummary {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i < 0) continue;
    const key = line.slice(0, i).trim().toLowerCase();
    if (!fields.has(key)) fields.set(key, line.slice(i + 1).trim());
  }
  const flags = (fields.get("flags") ?? fields.get("features") ?? "").split(/\s+/).filter(Boolean);
  return {
    vendor: fields.get("vendor_id") ?? fields.get("cpu implementer") ?? null,
    model: fields.get("model name") ?? fields.get("cpu model") ?? null,
    flags,
  };
}

/** Parses `lscpu` (no options) into "Key" -> "value". */
export function parseLscpuSummary(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^\s*([^:]+?):\s+(.*?)\s*$/.exec(line);
    if (m && !out.has(m[1])) out.set(m[1], m[2]);
  }
  return out;
}

const VENDORS: Record<string, string> = {
  GenuineIntel: "Intel",
  AuthenticAMD: "AMD",
  HygonGenuine: "Hygon",
  "0x41": "ARM",
  "0x61": "Apple",
  "0xc0": "Ampere",
  "0x48": "HiSilicon",
  "0x4e": "NVIDIA",
  "0x51": "Qualcomm",
};

export function vendorName(raw: string | null): string {
  if (raw === null || raw === "") return "unknown";
  return VENDORS[raw] ?? VENDORS[raw.toLowerCase()] ?? raw;
}

// The x86 flags that select llama.cpp's (ggml-cpu's) kernels, in the kernel's spelling.
const X86_ISA = [
  "sse3", "ssse3", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512bw", "avx512vl",
  "avx512vbmi", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16",
];
// Arm's /proc/cpuinfo "Features" spell these differently from the names ggml uses.
const ARM_ISA: Record<string, string> = {
  asimd: "neon",
  asimdhp: "fp16",
  asimddp: "dotprod",
  i8mm: "i8mm",
  bf16: "bf16",
  sve: "sve",
  sve2: "sve2",
  sme: "sme",
};

/** The ISA flags that matter for llama.cpp, in ggml's names, from the kernel's flag list. */
export function isaFlags(arch: string, flags: string[]): string[] {
  const have = new Set(flags);
  if (arch === "arm64" || arch === "arm") {
    return Object.entries(ARM_ISA).filter(([k]) => have.has(k)).map(([, v]) => v);
  }
  // /proc/cpuinfo says "pni" for SSE3.
  if (have.has("pni")) have.add("sse3");
  return X86_ISA.filter((f) => have.has(f));
}

function runLscpu(args: string[]): string | null {
  try {
    return execFileSync("lscpu", args, { encoding: "utf8", timeout: 3000, stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return null;
  }
}

async function systeminformationCpu(): Promise<{ brand: string; vendor: string; l2: number | null; l3: number | null; physical: number } | null> {
  try {
    const si = await import("systeminformation");
    const c = await si.cpu();
    return {
      brand: c.brand,
      vendor: c.vendor || c.manufacturer,
      l2: c.cache?.l2 ? c.cache.l2 : null,
      l3: c.cache?.l3 ? c.cache.l3 : null,
      physical: c.physicalCores,
    };
  } catch {
    return null;
  }
}

export interface CpuProbe {
  info: CpuInfo;
  /** All L3 instances together: the bandwidth arrays must be much larger than this. */
  l3TotalBytes: number | null;
}

/**
 * Reads this machine's CPU. `fs` points at the kernel files (a fixture tree in tests). Without
 * `cacheSizes`, L2/L3 sizes are left null where the kernel files do not give them, instead of
 * asking lscpu and systeminformation (seconds on a busy VM that hides its cache folders): the
 * machine's fingerprint does not use them.
 */
export async function readCpu(fs: KernelFiles, arch: string = process.arch, options: { cacheSizes?: boolean } = {}): Promise<CpuProbe> {
  const wantCaches = options.cacheSizes !== false;
  const cpuinfo = parseCpuinfo(fs.read("/proc/cpuinfo") ?? "");
  let placements: CpuPlacement[] | null = readSysTopology(fs);
  let summary: Map<string, string> | null = null;
  const lscpuSummary = () => (summary ??= parseLscpuSummary(runLscpu([]) ?? ""));
  if (placements === null) {
    const text = runLscpu(["-p=CPU,CORE,SOCKET,NODE"]);
    placements = text ? parseLscpuParsable(text) : null;
  }
  const topo = placements && placements.length > 0 ? summarizeTopology(placements) : null;
  const cpus = placements?.map((p) => p.cpu) ?? [];
  let caches: CacheSizes | null = readSysCaches(fs, cpus);
  let model = cpuinfo.model;
  let vendor = cpuinfo.vendor;
  if (process.platform === "linux" && ((wantCaches && caches === null) || model === null)) {
    // Arm kernels print no model name and some VMs hide cache folders; lscpu knows both.
    if (wantCaches) caches ??= parseLscpuCaches(lscpuSummary());
    model ??= lscpuSummary().get("Model name") ?? null;
    vendor ??= lscpuSummary().get("Vendor ID") ?? null;
  }
  let physical = topo?.physical ?? null;
  if ((wantCaches && caches === null) || model === null || topo === null) {
    const si = await systeminformationCpu();
    if (si) {
      if (wantCaches) caches ??= { l2Bytes: si.l2, l3Bytes: si.l3, l3Instances: 1 };
      model ??= si.brand || null;
      vendor ??= si.vendor || null;
      physical ??= si.physical || null;
    }
  }
  const logical = topo?.logical ?? os.cpus().length;
  const fallbackCpus = Array.from({ length: logical }, (_, i) => i);
  const info: CpuInfo = {
    arch,
    vendor: vendorName(vendor),
    model: model ?? os.cpus()[0]?.model ?? "unknown",
    logical,
    physical: physical ?? logical,
    sockets: topo?.sockets ?? 1,
    threadsPerCore: topo?.threadsPerCore ?? 1,
    smtSiblings: topo?.smtSiblings ?? fallbackCpus.map((c) => [c]),
    numaNodes: topo?.numaNodes ?? [{ id: 0, cpus: fallbackCpus }],
    l2Bytes: caches?.l2Bytes ?? null,
    l3Bytes: caches?.l3Bytes ?? null,
    isa: isaFlags(arch, cpuinfo.flags),
  };
  return { info, l3TotalBytes: caches?.l3Bytes == null ? null : caches.l3Bytes * caches.l3Instances };
}
