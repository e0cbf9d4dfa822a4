// probe(): the hardware profile that the search space, the models and the report start from.
import type { HardwareProfile } from "../src/types.js";
import { measureBandwidth } from "./bandwidth.js";
import { DEFAULT_MAX_AGE_MS, readCachedBandwidth, writeCachedBandwidth } from "./bandwidth-cache.js";
import { readCpu } from "./cpu.js";
import { cpusBusy } from "./cpu-use.js";
import { fingerprint, fingerprintInputs } from "./fingerprint.js";
import { readGpus } from "./gpu.js";
import { probeLlamaGpu } from "./llama-gpu.js";
import { readLimits, usableCpuCount } from "./limits.js";
import { readMemory } from "./memory.js";
import { kernelFiles, type KernelFiles } from "./sysfs.js";

/**
 * Share of the usable CPUs that other work must keep busy before a bandwidth curve counts as
 * measured busy. Below it, the measurement's threads still get most of the CPU time they ask for
 * (a curve measured with one of two CPUs half busy reads within a few percent of a quiet one);
 * above it, the points at the full thread count read low.
 */
const BUSY_CPU_SHARE = 0.75;

export interface ProbeOptions {
  /** Measure memory bandwidth (seconds; reused from the cache when possible). Default false. */
  bandwidth?: boolean;
  /** Measure bandwidth again even when a cached curve exists for this machine. */
  refresh?: boolean;
  /** Use and fill the bandwidth cache (under cacheDir("probe")). Default true. */
  cache?: boolean;
  /** Oldest cached curve to accept, in milliseconds. Default 30 days. */
  maxCacheAgeMs?: number;
  /**
   * Share of the usable CPUs that other work must keep busy (measured over a moment just before
   * the bandwidth is) for the curve to count as measured busy: flagged with a warning, and
   * measured again by the next probe rather than reused. Default 0.75.
   */
  busyCpuShare?: number;
  /** Repetitions per thread count in the bandwidth measurement. */
  bandwidthReps?: number;
  /** nvidia-smi to run; "" skips GPUs. Default "nvidia-smi" (or $PARATUNE_NVIDIA_SMI). */
  nvidiaSmi?: string;
  /** Ask node-llama-cpp which GPU backend it can load, when a GPU is found. Default true. */
  llamaGpu?: boolean;
  /**
   * Find the L2/L3 sizes where the kernel files lack them (lscpu, systeminformation: up to
   * seconds). Default true; always with `bandwidth`, whose arrays must outgrow L3. The
   * fingerprint does not use them, so a caller that only needs it (a store look-up) passes false.
   */
  cacheSizes?: boolean;
  /** Root of the kernel files (/proc, /sys); a fixture tree in tests. Default "/". */
  root?: string;
  /** Progress of the bandwidth measurement: thread counts done of total. */
  onBandwidthProgress?: (done: number, total: number) => void;
}

/** The share of the usable CPUs other work keeps busy now, and whether that counts as busy. */
async function busyNow(fs: KernelFiles, limits: HardwareProfile["limits"], threshold: number): Promise<{ share: number; busy: boolean }> {
  const busyCpus = await cpusBusy(fs, limits.allowedCpus);
  const share = busyCpus === null ? 0 : Math.min(1, busyCpus / Math.max(1, limits.allowedCpus.length || limits.cpus));
  return { share, busy: share > threshold };
}

export async function probe(options: ProbeOptions = {}): Promise<HardwareProfile> {
  const started = performance.now();
  const fs = kernelFiles(options.root ?? "/");
  const nvidiaSmi = options.nvidiaSmi ?? process.env.PARATUNE_NVIDIA_SMI ?? "nvidia-smi";
  // nvidia-smi is the slow part (hundreds of ms with the driver cold), so it runs while the
  // kernel files are read.
  const gpuProbe = nvidiaSmi === "" ? Promise.resolve({ gpus: [], links: [], warnings: [] }) : readGpus(nvidiaSmi);
  const { info: cpu, l3TotalBytes } = await readCpu(fs, process.arch, { cacheSizes: options.bandwidth === true || options.cacheSizes !== false });
  const limits = readLimits(fs);
  const memory = readMemory(fs);
  const { gpus, links, warnings } = await gpuProbe;
  const gpuBackend = gpus.length > 0 && options.llamaGpu !== false ? await probeLlamaGpu() : undefined;
  if (gpuBackend && gpuBackend.backend === null) warnings.push(`node-llama-cpp cannot use the GPU here: ${gpuBackend.reason}`);
  const print = fingerprint(fingerprintInputs(cpu, limits, memory, gpus));

  let bandwidth: HardwareProfile["bandwidth"] = null;
  if (options.bandwidth) {
    const useCache = options.cache !== false;
    const cached = useCache && !options.refresh ? await readCachedBandwidth(print, options.maxCacheAgeMs ?? DEFAULT_MAX_AGE_MS) : null;
    // How busy the machine is now, measured only when it decides something: whether a fresh
    // curve counts as busy, or whether a busy cached one may stand.
    const now = cached && !cached.busy ? null : await busyNow(fs, limits, options.busyCpuShare ?? BUSY_CPU_SHARE);
    const busyText = (share: number) => `other work kept ${Math.round(share * 100)}% of the usable CPUs busy`;
    if (cached && !(cached.busy && now && !now.busy)) {
      // A quiet curve, or a busy one while the machine is still busy (measuring again would read
      // as low): reused, the warning quoting the machine as it is now.
      bandwidth = { ...cached.bandwidth, method: `${cached.bandwidth.method}; cached, measured ${cached.measuredAt}` };
      if (cached.busy && now) {
        warnings.push(`the cached memory bandwidth was measured while the machine was busy, and it still is (${busyText(now.share)}); it may read low, and the next quiet probe measures it again`);
      }
    } else {
      const { share, busy } = now ?? { share: 0, busy: false };
      const maxThreads = Math.max(1, Math.min(Math.floor(limits.cpus + 1e-9), limits.allowedCpus.length || Infinity));
      // With SMT, one thread per usable physical core is where llama.cpp usually peaks, so the
      // curve gets that point too.
      const allowed = new Set(limits.allowedCpus);
      const usableCores = cpu.smtSiblings.filter((g) => g.some((c) => allowed.has(c))).length;
      bandwidth = await measureBandwidth({
        maxThreads,
        alsoThreads: [Math.min(usableCores, maxThreads)],
        l3TotalBytes,
        availableBytes: memory.availableBytes,
        reps: options.bandwidthReps,
        onPoint: (_, done, total) => options.onBandwidthProgress?.(done, total),
      });
      if (busy) {
        warnings.push(
          `memory bandwidth was measured while ${busyText(share)}; it may read low, and the next quiet probe measures it again`,
        );
      }
      if (useCache) {
        try {
          await writeCachedBandwidth(print, bandwidth, { busyShare: share, busy });
        } catch (err) {
          warnings.push(`could not cache the bandwidth curve: ${(err as Error).message}`);
        }
      }
    }
  }

  return {
    cpu,
    limits,
    memory,
    bandwidth,
    gpus,
    gpuLinks: links,
    ...(gpuBackend ? { gpuBackend } : {}),
    warnings,
    fingerprint: print,
    probedAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - started),
  };
}

/**
 * Usable CPUs as whole threads (cgroup quota, cpuset and affinity applied), in milliseconds:
 * the bound for any thread count when a full probe is not needed.
 */
export function usableCpus(root = "/"): number {
  return usableCpuCount(kernelFiles(root));
}

export { measureBandwidth, threadCounts } from "./bandwidth.js";
export { readLimits } from "./limits.js";
