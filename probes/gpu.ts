// NVIDIA GPUs, through nvidia-smi. No nvidia-smi means no GPU, which is a normal answer; an
// nvidia-smi that fails (driver/library mismatch, a hung GPU) is reported as a warning and the
// probe goes on with what it has.
import { execFile } from "node:child_process";
import type { GpuInfo, GpuLink } from "../src/types.js";

/** What we ask `nvidia-smi --query-gpu` for, in this order. */
export const GPU_QUERY_FIELDS = [
  "index",
  "name",
  "uuid",
  "memory.total",
  "memory.free",
  "compute_cap",
  "driver_version",
  "pcie.link.gen.current",
  "pcie.link.width.current",
  // The current PCIe generation drops to 1 at idle to save power; the maximum is what a busy
  // GPU gets (the smaller of what the card and the slot can do).
  "pcie.link.gen.max",
  "pcie.link.width.max",
];

const MIB = 1024 * 1024;

function value(cell: string | undefined): string | null {
  if (cell === undefined) return null;
  const v = cell.trim();
  return v === "" || /^\[?N\/A\]?$/i.test(v) || /^\[(Not Supported|Unknown Error|Insufficient Permissions)\]$/i.test(v) ? null : v;
}

function num(cell: string | undefined): number | null {
  const v = value(cell);
  if (v === null) return null;
  const n = Number.parseFloat(v);
  return Number.isFinite(n) ? n : null;
}

/**
 * Parses `nvidia-smi --query-gpu=<fields> --format=csv[,noheader][,nounits]`. With a header line
 * the columns are found by name (units such as " [MiB]" are ignored); without one they are taken
 * to be `fields` in order.
 */
export function parseGpuQueryCsv(text: string, fields: string[] = GPU_QUERY_FIELDS): GpuInfo[] {
  let lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  let columns = fields;
  if (lines.length && /^index\b|^name\b/.test(lines[0]) && !/^\d/.test(lines[0])) {
    columns = lines[0].split(",").map((c) => c.trim().replace(/\s*\[.*\]$/, ""));
    lines = lines.slice(1);
  }
  return lines.map((line, i) => {
    const cells = line.split(",");
    const get = (f: string) => {
      const k = columns.indexOf(f);
      return k >= 0 ? cells[k] : undefined;
    };
    // Memory arrives in MiB, with or without the unit.
    const mib = (f: string) => {
      const n = num(get(f)?.replace(/MiB/i, ""));
      return n === null ? null : n * MIB;
    };
    return {
      index: num(get("index")) ?? i,
      name: value(get("name")) ?? "unknown NVIDIA GPU",
      uuid: value(get("uuid")) ?? "",
      vramBytes: mib("memory.total") ?? 0,
      vramFreeBytes: mib("memory.free") ?? 0,
      computeCapability: value(get("compute_cap")),
      driver: value(get("driver_version")),
      pcieGen: num(get("pcie.link.gen.max")) ?? num(get("pcie.link.gen.current")),
      pcieWidth: num(get("pcie.link.width.max")) ?? num(get("pcie.link.width.current")),
    };
  });
}

function tag(xml: string, path: string[]): string | null {
  let scope = xml;
  for (const name of path) {
    const m = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`).exec(scope);
    if (!m) return null;
    scope = m[1];
  }
  return scope.trim();
}

/**
 * Parses `nvidia-smi -q -x`. Used when the CSV query fails, as it does on drivers that do not
 * know a field (older ones lack compute_cap); the XML has no compute capability.
 */
export function parseNvidiaSmiXml(xml: string): GpuInfo[] {
  const driver = tag(xml, ["driver_version"]);
  const blocks = [...xml.matchAll(/<gpu id="[^"]*">([\s\S]*?)<\/gpu>/g)].map((m) => m[1]);
  return blocks.map((b, i) => {
    const mib = (p: string[]) => {
      const n = num(tag(b, p)?.replace(/MiB/i, "") ?? undefined);
      return n === null ? 0 : n * MIB;
    };
    const width = (name: string) => num(tag(b, ["pci", "pci_gpu_link_info", "link_widths", name])?.replace(/x$/, "") ?? undefined);
    const gen = (name: string) => num(tag(b, ["pci", "pci_gpu_link_info", "pcie_gen", name]) ?? undefined);
    return {
      index: num(tag(b, ["minor_number"]) ?? undefined) ?? i,
      name: tag(b, ["product_name"]) ?? "unknown NVIDIA GPU",
      uuid: tag(b, ["uuid"]) ?? "",
      vramBytes: mib(["fb_memory_usage", "total"]),
      vramFreeBytes: mib(["fb_memory_usage", "free"]),
      computeCapability: null,
      driver,
      pcieGen: gen("max_link_gen") ?? gen("current_link_gen"),
      pcieWidth: width("max_link_width") ?? width("current_link_width"),
    };
  });
}

/** Parses the GPU-to-GPU part of `nvidia-smi topo -m` into links (each pair once). */
export function parseTopoMatrix(text: string): GpuLink[] {
  // The header is underlined with terminal escapes.
  const lines = text.replace(/\x1b\[[0-9;]*m/g, "").split("\n");
  const split = (l: string) => (l.includes("\t") ? l.split("\t").map((c) => c.trim()) : ["", ...l.trim().split(/\s+/)]);
  // The header row starts with an empty corner cell; GPU rows start with their own name.
  const headerAt = lines.findIndex((l) => /^\s+GPU\d+(\s|$)/.test(l) || /^GPU\d+\s+GPU\d+(\s|$)/.test(l));
  if (headerAt < 0) return [];
  const header = split(lines[headerAt]);
  const gpuCols = header.map((h, i) => [h, i] as const).filter(([h]) => /^GPU\d+$/.test(h));
  const links: GpuLink[] = [];
  for (const line of lines.slice(headerAt + 1)) {
    const rowMatch = /^\s*GPU(\d+)\b/.exec(line);
    if (!rowMatch) continue;
    const a = Number(rowMatch[1]);
    const cells = line.includes("\t") ? split(line) : line.trim().split(/\s+/);
    for (const [h, col] of gpuCols) {
      const b = Number(h.slice(3));
      const kind = cells[col];
      if (b <= a || kind === undefined || kind === "X") continue;
      links.push({ a, b, kind, nvlink: /^NV\d+$/.test(kind) });
    }
  }
  return links;
}

export interface GpuProbe {
  gpus: GpuInfo[];
  links: GpuLink[];
  warnings: string[];
}

interface RunResult {
  /** Exit code; null when it did not run or was killed. */
  code: number | null;
  missing: boolean;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

// node:child_process rather than execa keeps probes/ free of npm packages on this path, so the
// bench scripts run them on machines that have only node and a built dist/.
function run(command: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: string | number; killed?: boolean }) | null;
      resolve({
        code: e ? (typeof e.code === "number" ? e.code : null) : 0,
        missing: e?.code === "ENOENT" || e?.code === "EACCES",
        timedOut: Boolean(e?.killed),
        stdout: String(stdout),
        stderr: String(stderr),
      });
    });
  });
}

/**
 * The GPUs a CUDA_VISIBLE_DEVICES setting leaves to paratune's processes: nvidia-smi lists every
 * GPU whatever it says, and the workers, placed by nvidia-smi index, would otherwise use GPUs the
 * user kept from them. Entries are indices or UUIDs (a prefix is enough, as for CUDA); CUDA reads
 * them up to the first it cannot match, and so do we. Unset (null): every GPU.
 */
export function visibleGpus(gpus: GpuInfo[], setting: string | null): GpuInfo[] {
  if (setting === null) return gpus;
  const kept: GpuInfo[] = [];
  for (const entry of setting.split(",").map((e) => e.trim())) {
    const gpu = /^\d+$/.test(entry) ? gpus.find((g) => g.index === Number(entry)) : entry.startsWith("GPU-") ? gpus.find((g) => g.uuid.startsWith(entry)) : undefined;
    if (!gpu || kept.includes(gpu)) break;
    kept.push(gpu);
  }
  return kept.sort((a, b) => a.index - b.index);
}

/**
 * Runs nvidia-smi (`command` may point elsewhere, for tests and odd installs) and keeps the GPUs
 * `visible` allows (CUDA_VISIBLE_DEVICES by default).
 */
export async function readGpus(command = "nvidia-smi", timeoutMs = 20_000, visible: string | null = process.env.CUDA_VISIBLE_DEVICES ?? null): Promise<GpuProbe> {
  const all = await readAllGpus(command, timeoutMs);
  const gpus = visibleGpus(all.gpus, visible);
  if (gpus.length === all.gpus.length) return all;
  const kept = new Set(gpus.map((g) => g.index));
  const warnings = [...all.warnings, `CUDA_VISIBLE_DEVICES=${visible} leaves ${gpus.length} of ${all.gpus.length} GPUs: ${gpus.map((g) => g.index).join(", ") || "none"}`];
  return { gpus, links: all.links.filter((l) => kept.has(l.a) && kept.has(l.b)), warnings };
}

async function readAllGpus(command: string, timeoutMs: number): Promise<GpuProbe> {
  const warnings: string[] = [];
  const first = await run(command, [`--query-gpu=${GPU_QUERY_FIELDS.join(",")}`, "--format=csv,noheader,nounits"], timeoutMs);
  if (first.missing) return { gpus: [], links: [], warnings };
  let gpus: GpuInfo[] = [];
  if (first.code === 0) {
    gpus = parseGpuQueryCsv(first.stdout);
  } else {
    const xml = first.timedOut ? null : await run(command, ["-q", "-x"], timeoutMs);
    if (xml && xml.code === 0) {
      gpus = parseNvidiaSmiXml(xml.stdout);
    } else {
      const why = tail(first.stderr || first.stdout);
      // "No devices were found" is the one failure that is simply the answer "no GPU".
      if (!/No devices were found/i.test(why)) warnings.push(`nvidia-smi failed (${first.timedOut ? `timed out after ${timeoutMs} ms` : `exit ${first.code ?? "?"}`}): ${why}`);
      return { gpus: [], links: [], warnings };
    }
  }
  let links: GpuLink[] = [];
  if (gpus.length > 1) {
    const topo = await run(command, ["topo", "-m"], timeoutMs);
    if (topo.code === 0) links = parseTopoMatrix(topo.stdout);
    else warnings.push(`nvidia-smi topo -m failed (${topo.timedOut ? "timed out" : `exit ${topo.code ?? "?"}`}): ${tail(topo.stderr || topo.stdout)}`);
  }
  return { gpus, links, warnings };
}

function tail(text: string): string {
  const lines = text.trim().split("\n").filter(Boolean);
  return lines.slice(-2).join(" / ").slice(0, 300) || "no output";
}
