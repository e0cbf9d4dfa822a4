// Memory the process can fill: the host's MemAvailable, and inside a memory-limited cgroup no more
// than the limit minus the cgroup's working set (what the OOM killer counts).
import os from "node:os";
import type { MemoryInfo } from "../src/types.js";
import { readCgroupMemory } from "./limits.js";
import type { KernelFiles } from "./sysfs.js";

/** Parses /proc/meminfo into bytes. MemAvailable is absent on kernels older than 3.14. */
export function parseMeminfo(text: string): MemoryInfo {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, "m").exec(text);
    return m ? Number(m[1]) * 1024 : null;
  };
  const total = kb("MemTotal");
  if (total === null) throw new Error("no MemTotal in /proc/meminfo");
  const available = kb("MemAvailable") ?? (kb("MemFree") ?? 0) + (kb("Cached") ?? 0) + (kb("Buffers") ?? 0);
  return { totalBytes: total, availableBytes: available };
}

/** The cgroup's reclaimable page cache, which its usage counts but the OOM killer does not. */
export function parseInactiveFile(memoryStat: string): number {
  const m = /^(?:total_)?inactive_file\s+(\d+)$/m.exec(memoryStat);
  return m ? Number(m[1]) : 0;
}

export function readMemory(fs: KernelFiles): MemoryInfo {
  const text = fs.read("/proc/meminfo");
  const host = text ? parseMeminfo(text) : { totalBytes: os.totalmem(), availableBytes: os.freemem() };
  const cg = readCgroupMemory(fs);
  if (cg.limitBytes === null || cg.limitBytes >= host.totalBytes) return host;
  let working = cg.usageBytes ?? 0;
  if (cg.usageBytes !== null) {
    const stat = cg.dirs[0] ? fs.read(`${cg.dirs[0]}/memory.stat`) : null;
    if (stat) working = Math.max(0, working - parseInactiveFile(stat));
  }
  return {
    totalBytes: host.totalBytes,
    availableBytes: Math.max(0, Math.min(host.availableBytes, cg.limitBytes - working)),
  };
}
