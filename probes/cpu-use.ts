// How much of the CPUs we may use is taken by other work right now, from the kernel's per-CPU
// time counters (/proc/stat) over a short window. The load average cannot say this: it lags by a
// minute, counts tasks waiting on I/O, and inside a container it is the whole host's (a host
// spike read as "load 153 per CPU" on a two-CPU container that was idle).
import type { KernelFiles } from "./sysfs.js";

interface Times {
  busy: number;
  total: number;
}

function cpuTimes(fs: KernelFiles): Map<number, Times> {
  const out = new Map<number, Times>();
  for (const line of (fs.read("proc/stat") ?? "").split("\n")) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    const total = f.slice(0, 8).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    out.set(Number(m[1]), { busy: total - idle, total });
  }
  return out;
}

/**
 * CPUs' worth of work (0 to cpus.length) running on `cpus` during a window of `windowMs`, while
 * this process waits. Null when the counters cannot be read or did not move (a fixture tree).
 */
export async function cpusBusy(fs: KernelFiles, cpus: number[], windowMs = 300): Promise<number | null> {
  const before = cpuTimes(fs);
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const after = cpuTimes(fs);
  let busy = 0;
  let seen = 0;
  for (const cpu of cpus.length > 0 ? cpus : [...after.keys()]) {
    const a = before.get(cpu);
    const b = after.get(cpu);
    if (!a || !b || b.total <= a.total) continue;
    busy += Math.min(1, Math.max(0, (b.busy - a.busy) / (b.total - a.total)));
    seen++;
  }
  return seen > 0 ? busy : null;
}
