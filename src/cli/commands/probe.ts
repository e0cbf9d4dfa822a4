// `paratune probe`: what this machine is, as the tuner sees it.
import { Command } from "commander";
import type { HardwareProfile } from "../../types.js";
import { formatCpuList } from "../../../probes/cpulist.js";
import { gpuBandwidthGbps } from "../../../models/roofline.js";
import { formatBytes, table } from "../../format.js";
import { printJson } from "../format.js";
import { probeWithProgress } from "../probe-progress.js";

interface ProbeFlags {
  json?: boolean;
  bandwidth: boolean;
  refresh?: boolean;
}

export function registerProbe(program: Command): void {
  program
    .command("probe")
    .description("Read this machine: CPU layout and ISA, usable CPUs and memory (cgroup-aware), memory bandwidth, GPUs.")
    .option("--json", "print the full hardware profile as JSON")
    .option("--no-bandwidth", "skip the memory bandwidth measurement (the probe then takes well under 2 s)")
    .option("--refresh", "measure bandwidth again instead of reusing the curve cached for this machine")
    .action(async (flags: ProbeFlags) => {
      const profile = await probeWithProgress({ bandwidth: flags.bandwidth, refresh: flags.refresh }, !flags.json && process.stderr.isTTY);
      if (flags.json) printJson(profile);
      else process.stdout.write(`${describeProfile(profile)}\n`);
    });
}

/** The compact human view: one row per concern. */
export function describeProfile(p: HardwareProfile): string {
  const c = p.cpu;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const rows: string[][] = [
    ["cpu", `${c.model.toLowerCase().includes(c.vendor.toLowerCase()) ? c.model : `${c.vendor} ${c.model}`} (${c.arch})`],
    ["cores", `${c.logical} logical, ${c.physical} physical, ${plural(c.sockets, "socket")}, ${c.threadsPerCore} thread${c.threadsPerCore === 1 ? "" : "s"} per core`],
    ["caches", `L2 ${formatBytes(c.l2Bytes)} per core, L3 ${formatBytes(c.l3Bytes)}`],
    ["numa", c.numaNodes.map((n) => `node${n.id}: ${formatCpuList(n.cpus)}`).join("; ")],
    ["isa", c.isa.join(" ") || "-"],
    ["usable", `${round(p.limits.cpus)} CPUs (${p.limits.cpuSource}), memory limit ${p.limits.memoryBytes === null ? "none" : formatBytes(p.limits.memoryBytes)}`],
    ["memory", `${formatBytes(p.memory.totalBytes)} total, ${formatBytes(p.memory.availableBytes)} available`],
  ];
  if (p.bandwidth) {
    const b = p.bandwidth;
    rows.push(["bandwidth", `${b.curve.map((pt) => `${pt.threads}T ${pt.gbps.toFixed(1)}`).join(", ")} GB/s; single ${b.singleGbps.toFixed(1)}, peak ${b.peakGbps.toFixed(1)}${/cached/.test(b.method) ? " (cached)" : ""}`]);
  } else {
    rows.push(["bandwidth", "not measured"]);
  }
  if (p.gpus.length === 0) rows.push(["gpus", "none"]);
  for (const g of p.gpus) {
    const pcie = g.pcieGen ? `, PCIe ${g.pcieGen} x${g.pcieWidth ?? "?"}` : "";
    rows.push([`gpu${g.index}`, `${g.name}, ${formatBytes(g.vramBytes)} (${formatBytes(g.vramFreeBytes)} free), cc ${g.computeCapability ?? "?"}${pcie}, driver ${g.driver ?? "?"}`]);
  }
  if (p.gpuLinks.length) rows.push(["gpu links", p.gpuLinks.map((l) => `${l.a}-${l.b} ${l.kind}`).join(", ")]);
  for (const g of p.gpus) {
    const bw = gpuBandwidthGbps(g.name);
    rows.push([`gpu${g.index} bandwidth`, bw.known ? `${bw.gbps} GB/s (data sheet, by name; not measured)` : `unknown GPU: ${bw.gbps} GB/s assumed (not measured)`]);
  }
  if (p.gpuBackend) rows.push(["llama backend", p.gpuBackend.backend ? `${p.gpuBackend.backend} (${p.gpuBackend.devices.join(", ")})` : `none: ${p.gpuBackend.reason ?? "CPU only"}`]);
  for (const w of p.warnings) rows.push(["warning", w]);
  rows.push(["fingerprint", `${p.fingerprint} (probed in ${(p.durationMs / 1000).toFixed(2)} s)`]);
  return table(rows);
}

function round(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}
