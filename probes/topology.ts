// Where each logical CPU sits: which physical core, socket and NUMA node. The SMT layout matters
// because llama.cpp threads sharing a core fight over one core's vector units, so "threads" should
// count cores, and pinning should spread over sibling groups first.
import type { CpuInfo } from "../src/types.js";
import { parseCpuList } from "./cpulist.js";
import type { KernelFiles } from "./sysfs.js";

export interface CpuPlacement {
  cpu: number;
  /** Anything that is equal for two logical CPUs exactly when they share a physical core. */
  core: string;
  socket: number;
  node: number | null;
}

export type Topology = Pick<CpuInfo, "logical" | "physical" | "sockets" | "threadsPerCore" | "smtSiblings" | "numaNodes">;

/** Reads placements from /sys/devices/system/cpu and /sys/devices/system/node; null when absent. */
export function readSysTopology(fs: KernelFiles): CpuPlacement[] | null {
  const online = fs.read("/sys/devices/system/cpu/online");
  if (online === null) return null;
  const nodeOf = new Map<number, number>();
  for (const entry of fs.list("/sys/devices/system/node")) {
    const m = /^node(\d+)$/.exec(entry);
    if (!m) continue;
    const list = fs.read(`/sys/devices/system/node/${entry}/cpulist`);
    if (list !== null) for (const cpu of parseCpuList(list)) nodeOf.set(cpu, Number(m[1]));
  }
  const rows: CpuPlacement[] = [];
  for (const cpu of parseCpuList(online)) {
    const dir = `/sys/devices/system/cpu/cpu${cpu}/topology`;
    // thread_siblings_list names the core's logical CPUs directly, which stays right on machines
    // where core_id repeats across dies or sockets.
    const siblings = fs.read(`${dir}/thread_siblings_list`) ?? fs.read(`${dir}/core_cpus_list`);
    const socket = fs.read(`${dir}/physical_package_id`);
    if (siblings === null || socket === null) return null;
    rows.push({
      cpu,
      core: parseCpuList(siblings).join(","),
      socket: Number(socket.trim()),
      node: nodeOf.get(cpu) ?? null,
    });
  }
  return rows;
}

/** Parses `lscpu -p` output (either cache-column style) into placements. */
export function parseLscpuParsable(text: string): CpuPlacement[] {
  let columns = ["cpu", "core", "socket", "node"];
  const rows: CpuPlacement[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("#")) {
      // The last comment line is the header, e.g. "# CPU,Core,Socket,Node,,L1d,L1i,L2,L3".
      const header = line.slice(1).trim();
      if (/^cpu\b/i.test(header)) columns = header.split(",").map((c) => c.trim().toLowerCase());
      continue;
    }
    const cells = line.split(",");
    const get = (name: string) => {
      const i = columns.indexOf(name);
      return i >= 0 && i < cells.length ? cells[i].trim() : "";
    };
    const cpu = Number(get("cpu"));
    if (!Number.isInteger(cpu)) throw new Error(`unexpected lscpu -p line: "${line}"`);
    const socket = get("socket") === "" ? 0 : Number(get("socket"));
    const core = get("core") === "" ? `cpu${cpu}` : `${socket}:${get("core")}`;
    rows.push({ cpu, core, socket, node: get("node") === "" ? null : Number(get("node")) });
  }
  return rows;
}

export function summarizeTopology(rows: CpuPlacement[]): Topology {
  const byCore = new Map<string, number[]>();
  for (const r of rows) {
    const group = byCore.get(r.core) ?? [];
    group.push(r.cpu);
    byCore.set(r.core, group);
  }
  const smtSiblings = [...byCore.values()].map((g) => g.sort((a, b) => a - b)).sort((a, b) => a[0] - b[0]);
  const nodes = new Map<number, number[]>();
  for (const r of rows) {
    const id = r.node ?? 0;
    nodes.set(id, [...(nodes.get(id) ?? []), r.cpu]);
  }
  const numaNodes = [...nodes.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([id, cpus]) => ({ id, cpus: cpus.sort((a, b) => a - b) }));
  return {
    logical: rows.length,
    physical: smtSiblings.length,
    sockets: new Set(rows.map((r) => r.socket)).size,
    threadsPerCore: Math.max(1, ...smtSiblings.map((g) => g.length)),
    smtSiblings,
    numaNodes,
  };
}
