// What this process may really use. A container given 4 CPUs of quota on a 64-core host sees 64
// CPUs in /proc/cpuinfo and os.cpus(); running 64 threads there is throttled into a crawl. So the
// usable count is the smallest of: the online CPUs, the process affinity, the cgroup cpuset and the
// cgroup CPU quota (cgroup v1 or v2, at the process's own cgroup and every ancestor).
import { posix } from "node:path";
import os from "node:os";
import type { Limits } from "../src/types.js";
import { formatCpuList, parseCpuList } from "./cpulist.js";
import type { KernelFiles } from "./sysfs.js";

export interface CgroupMount {
  version: 1 | 2;
  mountPoint: string;
  /** The cgroup path that the mount shows at its mount point ("/" unless bind-mounted deeper). */
  root: string;
  controllers: string[];
}

export interface CgroupMembership {
  version: 1 | 2;
  controllers: string[];
  path: string;
}

/** Parses /proc/self/mountinfo, keeping cgroup and cgroup2 mounts. */
export function parseMountinfo(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(" ");
    const [fsType, , superOptions = ""] = line.slice(sep + 3).split(" ");
    if (fsType !== "cgroup" && fsType !== "cgroup2") continue;
    const unescape = (s: string) => s.replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
    out.push({
      version: fsType === "cgroup2" ? 2 : 1,
      root: unescape(pre[3]),
      mountPoint: unescape(pre[4]),
      controllers: fsType === "cgroup2" ? [] : superOptions.split(",").filter((o) => o !== "rw" && o !== "ro"),
    });
  }
  return out;
}

/** Parses /proc/self/cgroup ("4:memory:/docker/abc", "0::/user.slice/..."). */
export function parseProcCgroup(text: string): CgroupMembership[] {
  const out: CgroupMembership[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const v2 = m[1] === "0" && m[2] === "";
    out.push({ version: v2 ? 2 : 1, controllers: v2 ? [] : m[2].split(","), path: m[3] });
  }
  return out;
}

/** cgroup v2 cpu.max: "400000 100000" is 4 CPUs; "max 100000" is no limit. */
export function parseCpuMax(text: string): number | null {
  const [quota, period = "100000"] = text.trim().split(/\s+/);
  if (quota === "max" || quota === undefined) return null;
  const q = Number(quota);
  const p = Number(period);
  return q > 0 && p > 0 ? q / p : null;
}

/** cgroup v1 cpu.cfs_quota_us / cpu.cfs_period_us; a quota of -1 is no limit. */
export function parseCfsQuota(quota: string, period: string): number | null {
  const q = Number(quota.trim());
  const p = Number(period.trim());
  return q > 0 && p > 0 ? q / p : null;
}

/** memory.max ("max") or memory.limit_in_bytes (2^63 rounded down to a page when unlimited). */
export function parseMemoryLimit(text: string): number | null {
  const t = text.trim();
  if (t === "" || t === "max") return null;
  const n = Number(t);
  return Number.isFinite(n) && n > 0 && n < 2 ** 62 ? n : null;
}

/**
 * The folders holding `controller`'s files for this process, from its own cgroup up to the mount
 * point: a limit set on any ancestor applies too.
 */
export function cgroupDirs(memberships: CgroupMembership[], mounts: CgroupMount[], controller: string): { version: 1 | 2; dirs: string[] } | null {
  const pick = (version: 1 | 2) => {
    const member = memberships.find((m) => m.version === version && (version === 2 || m.controllers.includes(controller)));
    const mount = mounts.find((m) => m.version === version && (version === 2 || m.controllers.includes(controller)));
    if (!member || !mount) return null;
    // Inside a container the mount usually shows the container's own cgroup as "/"; the path in
    // /proc/self/cgroup is then either "/" (cgroup namespace) or the host path, which begins with
    // the mount's root.
    const rel = member.path.startsWith(mount.root) ? member.path.slice(mount.root.length) : "";
    const dirs: string[] = [];
    let dir = posix.join(mount.mountPoint, rel);
    for (;;) {
      dirs.push(dir);
      if (dir === mount.mountPoint || dir === "/" || !dir.startsWith(mount.mountPoint)) break;
      dir = posix.dirname(dir);
    }
    return { version, dirs };
  };
  // A v1 controller wins over the unified hierarchy: on hybrid hosts the v2 mount holds no limits.
  return pick(1) ?? pick(2);
}

function minimum(values: (number | null)[]): number | null {
  const finite = values.filter((v): v is number => v !== null);
  return finite.length ? Math.min(...finite) : null;
}

export interface CgroupMemory {
  limitBytes: number | null;
  usageBytes: number | null;
  /** The memory controller's folders, own cgroup first. */
  dirs: string[];
}

function cgroupContext(fs: KernelFiles) {
  return {
    memberships: parseProcCgroup(fs.read("/proc/self/cgroup") ?? ""),
    mounts: parseMountinfo(fs.read("/proc/self/mountinfo") ?? ""),
  };
}

/** The cgroup memory limit (smallest over the ancestry) and the cgroup's current usage. */
export function readCgroupMemory(fs: KernelFiles): CgroupMemory {
  const { memberships, mounts } = cgroupContext(fs);
  const where = cgroupDirs(memberships, mounts, "memory");
  if (!where) return { limitBytes: null, usageBytes: null, dirs: [] };
  const [limitFile, usageFile] = where.version === 2 ? ["memory.max", "memory.current"] : ["memory.limit_in_bytes", "memory.usage_in_bytes"];
  const limitBytes = minimum(where.dirs.map((d) => parseMemoryLimit(fs.read(`${d}/${limitFile}`) ?? "")));
  const usage = fs.read(`${where.dirs[0]}/${usageFile}`);
  return { limitBytes, usageBytes: usage === null ? null : Number(usage.trim()), dirs: where.dirs };
}

/** Reads the usable CPUs and the memory limit. `fs` points at the kernel files. */
export function readLimits(fs: KernelFiles): Limits {
  const { memberships, mounts } = cgroupContext(fs);
  const onlineText = fs.read("/sys/devices/system/cpu/online");
  const online = onlineText ? parseCpuList(onlineText) : os.cpus().map((_, i) => i);
  const status = fs.read("/proc/self/status") ?? "";
  const affinityLine = /^Cpus_allowed_list:\s*(.*)$/m.exec(status);
  const affinity = affinityLine ? parseCpuList(affinityLine[1]) : online;

  let cpuset: number[] | null = null;
  const cpusetWhere = cgroupDirs(memberships, mounts, "cpuset");
  if (cpusetWhere) {
    const names = cpusetWhere.version === 2 ? ["cpuset.cpus.effective"] : ["cpuset.effective_cpus", "cpuset.cpus"];
    // The nearest cgroup that has the file: v2 shows cpuset files only where the controller is on.
    search: for (const dir of cpusetWhere.dirs) {
      for (const name of names) {
        const text = fs.read(`${dir}/${name}`);
        if (text !== null && text.trim() !== "") {
          cpuset = parseCpuList(text);
          break search;
        }
      }
    }
  }

  let quota: number | null = null;
  let quotaSource = "";
  const cpuWhere = cgroupDirs(memberships, mounts, "cpu");
  if (cpuWhere) {
    for (const dir of cpuWhere.dirs) {
      let q: number | null = null;
      let raw = "";
      if (cpuWhere.version === 2) {
        raw = fs.read(`${dir}/cpu.max`)?.trim() ?? "";
        q = parseCpuMax(raw);
        raw = `cgroup v2 cpu.max ${raw.replace(/\s+/, "/")}`;
      } else {
        const qt = fs.read(`${dir}/cpu.cfs_quota_us`);
        const pt = fs.read(`${dir}/cpu.cfs_period_us`);
        if (qt !== null && pt !== null) {
          q = parseCfsQuota(qt, pt);
          raw = `cgroup v1 cpu.cfs_quota_us/cfs_period_us ${qt.trim()}/${pt.trim()}`;
        }
      }
      if (q !== null && (quota === null || q < quota)) {
        quota = q;
        quotaSource = raw;
      }
    }
  }

  const onlineSet = new Set(online);
  const cpusetSet = cpuset ? new Set(cpuset) : null;
  const allowedCpus = affinity.filter((c) => onlineSet.has(c) && (!cpusetSet || cpusetSet.has(c)));
  let cpus = allowedCpus.length;
  let cpuSource: string;
  if (quota !== null && quota < cpus) {
    cpus = quota;
    cpuSource = quotaSource;
  } else if (cpuset && allowedCpus.length < online.length && allowedCpus.length === cpuset.length) {
    cpuSource = `cgroup cpuset ${formatCpuList(cpuset)}`;
  } else if (allowedCpus.length < online.length) {
    cpuSource = `process affinity ${formatCpuList(allowedCpus)}`;
  } else {
    cpuSource = `all ${online.length} online CPUs`;
  }
  // A limit at or above the machine's memory limits nothing (the 16-core H100 host's cgroup says
  // 128 GiB over 125.9 GiB of RAM).
  let memoryBytes = readCgroupMemory(fs).limitBytes;
  const memTotal = /^MemTotal:\s+(\d+)\s*kB/m.exec(fs.read("/proc/meminfo") ?? "");
  const total = memTotal ? Number(memTotal[1]) * 1024 : os.totalmem();
  if (memoryBytes !== null && memoryBytes >= total) memoryBytes = null;
  return { cpus, allowedCpus, cpuSource, memoryBytes };
}

/**
 * Usable CPUs as a whole number of threads, in a few milliseconds (no bandwidth, no GPUs): what
 * thread counts should be bounded by. A fractional quota rounds down, since a thread more than the
 * quota is throttled; never below 1.
 */
export function usableCpuCount(fs: KernelFiles): number {
  return Math.max(1, Math.floor(readLimits(fs).cpus + 1e-9));
}
