// The bandwidth curve takes seconds to measure and does not change while the machine does not,
// so it is kept per fingerprint: `paratune tune` probes at the start of every run and reuses it.
import { readFile } from "node:fs/promises";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import writeFileAtomic from "write-file-atomic";
import type { Bandwidth } from "../src/types.js";
import { cacheDir } from "../src/paths.js";

const VERSION = 1;
/** A month: long enough to spare repeated runs, short enough to notice a BIOS or DIMM change. */
export const DEFAULT_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

interface Entry {
  version: number;
  fingerprint: string;
  measuredAt: string;
  /** Share of the usable CPUs other work kept busy when measured: other work makes the curve read low. */
  busyShare: number;
  /** Whether that load counted as busy, so that a quiet machine measures again. */
  busy: boolean;
  bandwidth: Bandwidth;
}

export interface CachedBandwidth {
  bandwidth: Bandwidth;
  measuredAt: string;
  busyShare: number;
  busy: boolean;
}

export function bandwidthCachePath(fingerprint: string): string {
  return cacheDir("probe", `bandwidth-${fingerprint}.json`);
}

/** The cached curve for this fingerprint, or null when there is none, it is stale or unreadable. */
export async function readCachedBandwidth(fingerprint: string, maxAgeMs = DEFAULT_MAX_AGE_MS, now = Date.now()): Promise<CachedBandwidth | null> {
  let entry: Entry;
  try {
    entry = JSON.parse(await readFile(bandwidthCachePath(fingerprint), "utf8")) as Entry;
  } catch {
    return null;
  }
  if (entry.version !== VERSION || entry.fingerprint !== fingerprint || !Array.isArray(entry.bandwidth?.curve)) return null;
  const age = now - Date.parse(entry.measuredAt);
  if (!(age >= 0 && age <= maxAgeMs)) return null;
  return { bandwidth: entry.bandwidth, measuredAt: entry.measuredAt, busyShare: entry.busyShare ?? 0, busy: entry.busy === true };
}

export async function writeCachedBandwidth(fingerprint: string, bandwidth: Bandwidth, load: { busyShare: number; busy: boolean }, measuredAt = new Date().toISOString()): Promise<void> {
  const path = bandwidthCachePath(fingerprint);
  await mkdir(dirname(path), { recursive: true });
  const entry: Entry = { version: VERSION, fingerprint, measuredAt, ...load, bandwidth };
  await writeFileAtomic(path, `${JSON.stringify(entry, null, 2)}\n`);
}
