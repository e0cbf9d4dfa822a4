// The processes a trial starts: how much memory they really use, and making sure none outlive it.
// Linux-only accounting through /proc; elsewhere the memory metrics are simply absent.
import { readFileSync, readdirSync } from "node:fs";

export interface MemoryUse {
  rssBytes: number;
  /** Proportional set size: shared pages (the mmap-ed model) divided among the processes sharing them. */
  pssBytes: number;
}

/**
 * Reads /proc/<pid>/smaps_rollup. RSS counts a shared mmap-ed model once per process that touched
 * it; PSS splits it among them, so PSS summed over workers is the memory the machine really gives.
 */
export function readMemoryUse(pid: number): MemoryUse | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  } catch {
    return null;
  }
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  return { rssBytes: kb("Rss"), pssBytes: kb("Pss") };
}

/**
 * The process's own peak resident set (VmHWM in /proc/<pid>/status): a counter the kernel keeps,
 * so reading it costs nothing to the process, unlike smaps_rollup, which walks its page tables.
 */
export function readPeakRss(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export interface ThreadSample {
  /** The thread's name (/proc/<pid>/task/<tid>/comm): "libuv-worker", "V8 DefaultWorke", ... */
  name: string;
  /** Nanoseconds on a CPU and nanoseconds runnable but waiting for one (schedstat). */
  runNs: number;
  waitNs: number;
}

/**
 * The scheduler's accounting for every thread of a process now alive, by thread id. Threads that
 * have ended are not listed (their CPU time stays in the process's totals).
 */
export function readThreadTimes(pid: number): Map<number, ThreadSample> {
  const out = new Map<number, ThreadSample>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").trim().split(/\s+/).map(Number);
      if (Number.isFinite(run) && Number.isFinite(wait)) out.set(Number(tid), { name, runNs: run, waitNs: wait });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

function processState(pid: number): { ppid: number; pgrp: number; state: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may itself contain spaces or parentheses.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: rest[0], ppid: Number(rest[1]), pgrp: Number(rest[2]) };
  } catch {
    return null;
  }
}

/** True while the process exists and is not a zombie waiting to be reaped. */
export function isAlive(pid: number): boolean {
  const s = processState(pid);
  if (s) return s.state !== "Z" && s.state !== "X";
  if (process.platform === "linux") return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every process on the machine that is not a zombie, with its parent and process group. */
function liveProcesses(): { pid: number; ppid: number; pgrp: number }[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const out: { pid: number; ppid: number; pgrp: number }[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const s = processState(Number(name));
    if (s && s.state !== "Z") out.push({ pid: Number(name), ppid: s.ppid, pgrp: s.pgrp });
  }
  return out;
}

/** Every live descendant of `root` (children, grandchildren, ...), found by walking /proc. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const { pid, ppid } of liveProcesses()) {
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** Live processes whose process group is `pgid`. */
export function groupMembers(pgid: number): number[] {
  return liveProcesses()
    .filter((p) => p.pgrp === pgid)
    .map((p) => p.pid);
}

/**
 * Live processes whose environment holds `name=value`. A variable set for a trial marks every
 * process the trial starts, including those that left its process group and were re-parented to
 * init (`setsid cmd &`, daemons), which neither the tree nor the group finds. Only processes of
 * our own user can be read, which are the only ones a trial can start.
 */
export function processesWithEnv(name: string, value: string): number[] {
  const needle = Buffer.from(`${name}=${value}\0`);
  const out: number[] = [];
  for (const { pid } of liveProcesses()) {
    try {
      if (readFileSync(`/proc/${pid}/environ`).includes(needle)) out.push(pid);
    } catch {
      // Another user's process, or it ended meanwhile.
    }
  }
  return out;
}

/** The root and its descendants that are alive now. */
export function processTree(root: number): number[] {
  return [root, ...descendants(root)].filter(isAlive);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/**
 * Ends a process and everything it started. The tree is collected before the first signal because
 * children are re-parented to init once their parent dies and could no longer be found; the
 * process group is signalled too, for children started by a shell that has already exited.
 * `others` finds more processes to end (see processesWithEnv).
 * SIGTERM first so programs like mpirun can tidy up, SIGKILL after `graceMs`.
 * Resolves with the pids that were still alive at the end (empty when cleanup worked).
 */
export async function killTree(root: number, graceMs = 2000, group = true, others: () => number[] = () => []): Promise<number[]> {
  const known = new Set(processTree(root));
  // Members of the group whose leader already died (a crashed shell) are found by their group id.
  if (group) for (const m of groupMembers(root)) known.add(m);
  for (const o of others()) known.add(o);
  const send = (sig: NodeJS.Signals) => {
    for (const d of descendants(root)) known.add(d);
    if (group) for (const m of groupMembers(root)) known.add(m);
    for (const o of others()) known.add(o);
    if (group) signal(-root, sig);
    for (const pid of known) signal(pid, sig);
  };
  send("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && [...known].some(isAlive)) await sleep(50);
  if ([...known].some(isAlive)) send("SIGKILL");
  const killDeadline = Date.now() + 5000;
  while (Date.now() < killDeadline && [...known].some(isAlive)) await sleep(50);
  return [...known].filter(isAlive);
}

/**
 * Follows the peak memory of a changing set of processes (a command and its children) from
 * /proc/<pid>/status: the sum of each live process's VmHWM, the kernel's own peak counter, so a
 * short spike between two readings is not missed. It reads no smaps: walking the page tables of
 * a program being timed slowed llama.cpp's decoding by up to 2x at threads = cores
 * (docs/workloads.md), so PSS is only read where the program is known to be idle.
 */
export class MemorySampler {
  peakRssBytes = 0;
  samples = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pids: () => number[], private readonly intervalMs = 1000) {}

  start(): this {
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  sample(): void {
    let rss = 0;
    let seen = 0;
    for (const pid of this.pids()) {
      const peak = readPeakRss(pid);
      if (peak === null) continue;
      rss += peak;
      seen++;
    }
    if (seen === 0) return;
    this.samples++;
    this.peakRssBytes = Math.max(this.peakRssBytes, rss);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * How many times the kernel's OOM killer has fired in this process's memory cgroup, or null when
 * that cannot be read. Comparing it before and after a trial tells a worker killed for memory from
 * one killed by anything else. cgroup v2 keeps it in memory.events, v1 in memory.oom_control.
 */
export function oomKillCount(): number | null {
  let lines: string[];
  try {
    lines = readFileSync("/proc/self/cgroup", "utf8").split("\n");
  } catch {
    return null;
  }
  const v1 = lines.find((l) => /^\d+:memory:/.test(l));
  const v2 = lines.find((l) => l.startsWith("0::"));
  const candidates = [
    v1 && `/sys/fs/cgroup/memory${v1.slice(v1.indexOf(":memory:") + 8).trim()}/memory.oom_control`,
    v2 && `/sys/fs/cgroup${v2.slice(3).trim()}/memory.events`,
  ];
  for (const file of candidates) {
    if (!file) continue;
    try {
      const m = /^oom_kill (\d+)/m.exec(readFileSync(file.replace("//", "/"), "utf8"));
      if (m) return Number(m[1]);
    } catch {
      // Try the other hierarchy.
    }
  }
  return null;
}
