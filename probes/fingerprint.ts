// A stable name for "this machine, as far as performance goes", so results measured here can be
// found again (the bandwidth cache, the store of past tunings) and not applied elsewhere. It hashes
// only what decides speed and does not drift between runs: not free memory, not GPU free VRAM, not
// the driver version, and total memory only as a size class (MemTotal moves by a few MiB between
// kernels).
import { createHash } from "node:crypto";
import type { CpuInfo, GpuInfo, Limits, MemoryInfo } from "../src/types.js";

export interface FingerprintInputs {
  arch: string;
  cpuModel: string;
  isa: string[];
  usableCpus: number;
  physical: number;
  threadsPerCore: number;
  sockets: number;
  numaNodes: number;
  memoryClassGiB: number;
  gpus: string[];
}

/** Memory rounded to the nearest power of two GiB: 24 GiB and 31 GiB both read 32. */
export function memoryClassGiB(bytes: number): number {
  const gib = bytes / 1024 ** 3;
  return gib <= 0.5 ? 0.5 : 2 ** Math.round(Math.log2(gib));
}

export function fingerprintInputs(cpu: CpuInfo, limits: Limits, memory: MemoryInfo, gpus: GpuInfo[]): FingerprintInputs {
  const usableMemory = Math.min(memory.totalBytes, limits.memoryBytes ?? Infinity);
  return {
    arch: cpu.arch,
    cpuModel: cpu.model,
    isa: [...cpu.isa].sort(),
    usableCpus: Math.round(limits.cpus * 100) / 100,
    physical: cpu.physical,
    threadsPerCore: cpu.threadsPerCore,
    sockets: cpu.sockets,
    numaNodes: cpu.numaNodes.length,
    memoryClassGiB: memoryClassGiB(usableMemory),
    gpus: gpus.map((g) => g.name).sort(),
  };
}

/** 16 hex digits of SHA-256 over the inputs, written with sorted keys. */
export function fingerprint(inputs: FingerprintInputs): string {
  const canonical = JSON.stringify(inputs, Object.keys(inputs).sort());
  return createHash("sha256").update(canonical).digest("hex").slice(0, 16);
}
