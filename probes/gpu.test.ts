import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GPU_QUERY_FIELDS, parseGpuQueryCsv, parseNvidiaSmiXml, parseTopoMatrix, readGpus } from "./gpu.js";

const HW = new URL("../fixtures/hardware/", import.meta.url);
const path = (p: string) => new URL(p, HW).pathname;
const text = (p: string) => readFileSync(path(p), "utf8");
const MIB = 1024 * 1024;

const h200 = {
  name: "NVIDIA H200",
  vramBytes: 143771 * MIB,
  vramFreeBytes: 143156 * MIB,
  driver: "580.159.04",
  pcieGen: 5,
  pcieWidth: 16,
};

describe("nvidia-smi parsers", () => {
  it("reads the H200 host's --query-gpu CSV by its header", () => {
    const gpus = parseGpuQueryCsv(text("h200x2-32core/nvidia-smi-query.csv"));
    expect(gpus).toHaveLength(2);
    expect(gpus[0]).toEqual({ index: 0, uuid: "GPU-e16f4db8-9d38-0bc0-0556-51277a321d7c", computeCapability: "9.0", ...h200 });
    expect(gpus[1].index).toBe(1);
  });
  it("reads the same rows without a header when told the field order", () => {
    const [header, ...rows] = text("h200x2-32core/nvidia-smi-query.csv").trim().split("\n");
    const fields = header.split(",").map((h) => h.trim().replace(/\s*\[.*\]$/, ""));
    expect(parseGpuQueryCsv(rows.join("\n"), fields)).toEqual(parseGpuQueryCsv(text("h200x2-32core/nvidia-smi-query.csv")));
  });
  it("treats [N/A] and [Not Supported] as unknown", () => {
    const line = "0, Tesla T4, GPU-1, 15360, 15000, [N/A], 470.82.01, 1, 16, [Not Supported], [N/A]";
    expect(parseGpuQueryCsv(line, GPU_QUERY_FIELDS)[0]).toMatchObject({ computeCapability: null, pcieGen: 1, pcieWidth: 16, vramBytes: 15360 * MIB });
  });
  it("reads the H200 host's -q -x XML (no compute capability there)", () => {
    const gpus = parseNvidiaSmiXml(text("h200x2-32core/nvidia-smi-q.xml"));
    expect(gpus.map((g) => g.uuid)).toEqual(["GPU-e16f4db8-9d38-0bc0-0556-51277a321d7c", "GPU-761bab37-1c5f-2822-919b-953c5dc4e3ba"]);
    expect(gpus[0]).toMatchObject({ index: 0, computeCapability: null, ...h200 });
  });
  it("reads the H100 host's output for the probe's own query (no header, no units)", () => {
    expect(parseGpuQueryCsv(text("h100-16core/nvidia-smi-query-noheader.csv"))).toEqual([
      {
        index: 0,
        name: "NVIDIA H100 80GB HBM3",
        uuid: "GPU-1a0aec65-4699-ae99-f81a-688e442d8e69",
        vramBytes: 81559 * MIB,
        vramFreeBytes: 81079 * MIB,
        computeCapability: "9.0",
        driver: "580.159.04",
        pcieGen: 5,
        pcieWidth: 16,
      },
    ]);
  });
  it("reads the H100 host's -q -x XML and its one-GPU topo -m (no links)", () => {
    const [gpu] = parseNvidiaSmiXml(text("h100-16core/nvidia-smi-q.xml"));
    expect(gpu).toMatchObject({ name: "NVIDIA H100 80GB HBM3", vramBytes: 81559 * MIB, pcieGen: 5, pcieWidth: 16 });
    expect(parseTopoMatrix(text("h100-16core/nvidia-smi-topo.txt"))).toEqual([]);
  });
  it("reads the NVLink between the two H200s from topo -m", () => {
    expect(parseTopoMatrix(text("h200x2-32core/nvidia-smi-topo.txt"))).toEqual([{ a: 0, b: 1, kind: "NV18", nvlink: true }]);
  });
  it("reads PCIe links and skips NIC columns (synthetic 3-GPU matrix in nvidia-smi's layout)", () => {
    const m = [
      "\tGPU0\tGPU1\tGPU2\tNIC0\tCPU Affinity\tNUMA Affinity",
      "GPU0\t X \tPIX\tSYS\tNODE\t0-15\t0",
      "GPU1\tPIX\t X \tSYS\tNODE\t0-15\t0",
      "GPU2\tSYS\tSYS\t X \tSYS\t16-31\t1",
      "NIC0\tNODE\tNODE\tSYS\t X",
    ].join("\n");
    expect(parseTopoMatrix(m)).toEqual([
      { a: 0, b: 1, kind: "PIX", nvlink: false },
      { a: 0, b: 2, kind: "SYS", nvlink: false },
      { a: 1, b: 2, kind: "SYS", nvlink: false },
    ]);
  });
});

describe("readGpus runs nvidia-smi as a child process", () => {
  const dir = mkdtempSync(join(tmpdir(), "paratune-gpu-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // Scripts standing in for nvidia-smi, replaying the H200 host's real outputs or its failures.
  const script = (name: string, body: string) => {
    const p = join(dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };

  it("no nvidia-smi on the PATH is no GPU and no warning", async () => {
    expect(await readGpus(join(dir, "absent-nvidia-smi"), 20_000, null)).toEqual({ gpus: [], links: [], warnings: [] });
  });
  it("parses the query and the topology from a working nvidia-smi", async () => {
    const [, ...rows] = text("h200x2-32core/nvidia-smi-query.csv").trim().split("\n");
    // Reorder the real rows' cells into the order readGpus asks for.
    const fields = ["index", "name", "uuid", "memory.total", "memory.used", "memory.free", "utilization.gpu", "driver_version", "pcie.link.gen.current", "pcie.link.width.current", "compute_cap"];
    const csv = rows.map((r) => {
      const cells = r.split(",").map((c) => c.trim());
      return GPU_QUERY_FIELDS.map((f) => (fields.includes(f) ? cells[fields.indexOf(f)] : "[N/A]")).join(", ");
    });
    writeFileSync(join(dir, "query.csv"), `${csv.join("\n")}\n`);
    const smi = script("ok-smi", `case "$1" in topo) cat '${path("h200x2-32core/nvidia-smi-topo.txt")}';; *) cat '${join(dir, "query.csv")}';; esac`);
    const r = await readGpus(smi, 20_000, null);
    expect(r.warnings).toEqual([]);
    expect(r.gpus.map((g) => g.name)).toEqual(["NVIDIA H200", "NVIDIA H200"]);
    expect(r.gpus[1]).toMatchObject({ index: 1, computeCapability: "9.0", pcieGen: 5 });
    expect(r.links).toEqual([{ a: 0, b: 1, kind: "NV18", nvlink: true }]);
    // CUDA_VISIBLE_DEVICES keeps GPUs from paratune's workers as from any CUDA program.
    const second = await readGpus(smi, 20_000, "1");
    expect(second.gpus.map((g) => g.index)).toEqual([1]);
    expect(second.links).toEqual([]);
    expect(second.warnings).toEqual(["CUDA_VISIBLE_DEVICES=1 leaves 1 of 2 GPUs: 1"]);
    expect((await readGpus(smi, 20_000, "GPU-e16f4db8")).gpus.map((g) => g.index)).toEqual([0]);
    // CUDA reads up to the first entry it cannot match.
    expect((await readGpus(smi, 20_000, "1,7,0")).gpus.map((g) => g.index)).toEqual([1]);
    expect((await readGpus(smi, 20_000, "")).gpus).toEqual([]);
    expect((await readGpus(smi, 20_000, "1,0")).gpus.map((g) => g.index)).toEqual([0, 1]);
  });
  it("falls back to -q -x when the driver rejects a query field", async () => {
    const smi = script("old-smi", `case "$1" in -q) cat '${path("h200x2-32core/nvidia-smi-q.xml")}';; topo) exit 3;; *) echo 'Field "compute_cap" is not a valid field to query.'; exit 2;; esac`);
    const r = await readGpus(smi, 20_000, null);
    expect(r.gpus).toHaveLength(2);
    expect(r.gpus[0].computeCapability).toBeNull();
    expect(r.warnings).toEqual([expect.stringMatching(/^nvidia-smi topo -m failed \(exit 3\)/)]);
  });
  it("a broken driver is a warning, not a crash", async () => {
    const smi = script("broken-smi", "echo \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\"; exit 9");
    const r = await readGpus(smi, 20_000, null);
    expect(r.gpus).toEqual([]);
    expect(r.warnings).toEqual([expect.stringContaining("couldn't communicate with the NVIDIA driver")]);
  });
  it("'No devices were found' is simply no GPU", async () => {
    const r = await readGpus(script("nodev-smi", "echo 'No devices were found'; exit 6"), 20_000, null);
    expect(r).toEqual({ gpus: [], links: [], warnings: [] });
  });
  it("a hung nvidia-smi times out into a warning", async () => {
    const r = await readGpus(script("hung-smi", "exec sleep 30"), 300);
    expect(r.warnings).toEqual([expect.stringContaining("timed out")]);
  });
});
