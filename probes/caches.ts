// L2 and L3 sizes. They decide how large the bandwidth arrays must be (much larger than L3, or
// the "memory" bandwidth is really cache bandwidth) and feed the performance models.
import type { KernelFiles } from "./sysfs.js";
import { parseCpuList } from "./cpulist.js";

export interface CacheSizes {
  /** Size of one L2 instance (what one core has). */
  l2Bytes: number | null;
  /** Size of one L3 instance (what one core can reach). */
  l3Bytes: number | null;
  /** How many separate L3 instances the machine has (per socket or per CCX). */
  l3Instances: number;
}

/** Parses sysfs cache sizes ("32768K") and lscpu's ("1 MiB", "1.5 MiB", "512 KB"). */
export function parseCacheSize(text: string): number | null {
  const m = /^\s*([\d.]+)\s*([KMG]?)(i?B)?\s*$/i.exec(text);
  if (!m) return null;
  const scale = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2].toUpperCase() as "" | "K" | "M" | "G"];
  return Math.round(Number(m[1]) * scale);
}

/** Reads /sys/devices/system/cpu/cpu<N>/cache/index*; null when the kernel does not expose it. */
export function readSysCaches(fs: KernelFiles, cpus: number[]): CacheSizes | null {
  let l2: number | null = null;
  let l3: number | null = null;
  const l3Groups = new Set<string>();
  for (const cpu of cpus) {
    const base = `/sys/devices/system/cpu/cpu${cpu}/cache`;
    for (const index of fs.list(base)) {
      if (!index.startsWith("index")) continue;
      const level = fs.read(`${base}/${index}/level`)?.trim();
      const type = fs.read(`${base}/${index}/type`)?.trim();
      if (type === "Instruction" || (level !== "2" && level !== "3")) continue;
      if (level === "3") {
        const shared = fs.read(`${base}/${index}/shared_cpu_list`);
        if (shared !== null) l3Groups.add(parseCpuList(shared).join(","));
      }
      if (cpu !== cpus[0]) continue;
      const size = parseCacheSize(fs.read(`${base}/${index}/size`) ?? "");
      if (level === "2") l2 = size;
      else l3 = size;
    }
  }
  if (l2 === null && l3 === null) return null;
  return { l2Bytes: l2, l3Bytes: l3, l3Instances: Math.max(1, l3Groups.size) };
}

/** Reads `lscpu` summary lines such as "L3 cache: 300 MiB (1 instance)" into per-instance sizes. */
export function parseLscpuCaches(summary: Map<string, string>): CacheSizes | null {
  const one = (key: string) => {
    const v = summary.get(key);
    if (v === undefined) return { bytes: null, instances: 1 };
    const m = /^(.*?)\s*(?:\((\d+) instances?\))?$/.exec(v)!;
    const instances = m[2] ? Number(m[2]) : 1;
    const total = parseCacheSize(m[1]);
    return { bytes: total === null ? null : Math.round(total / instances), instances };
  };
  const l2 = one("L2 cache");
  const l3 = one("L3 cache");
  if (l2.bytes === null && l3.bytes === null) return null;
  return { l2Bytes: l2.bytes, l3Bytes: l3.bytes, l3Instances: l3.instances };
}
