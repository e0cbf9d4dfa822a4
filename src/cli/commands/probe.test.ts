import { execa } from "execa";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { HardwareProfile } from "../../types.js";

const bin = fileURLToPath(new URL("../../../bin/paratune.js", import.meta.url));
const cache = mkdtempSync(join(tmpdir(), "paratune-probe-cli-"));
const env = { PARATUNE_CACHE_DIR: cache };

describe("paratune probe", () => {
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it("--json --no-bandwidth prints the full profile", async () => {
    const r = await execa("node", [bin, "probe", "--json", "--no-bandwidth"], { env });
    const p = JSON.parse(r.stdout) as HardwareProfile;
    expect(p.cpu.logical).toBe(os.cpus().length);
    expect(p.bandwidth).toBeNull();
    expect(p.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(Object.keys(p).sort()).toEqual(["bandwidth", "cpu", "durationMs", "fingerprint", "gpuLinks", "gpus", "limits", "memory", "probedAt", "warnings"]);
  });

  const taskset = ["/usr/bin/taskset", "/bin/taskset"].find((p) => existsSync(p));
  it.runIf(taskset && os.cpus().length > 1)("honours process affinity set by taskset", async () => {
    const r = await execa(taskset!, ["-c", "1", "node", bin, "probe", "--json", "--no-bandwidth"], { env });
    const p = JSON.parse(r.stdout) as HardwareProfile;
    expect(p.limits).toMatchObject({ cpus: 1, allowedCpus: [1], cpuSource: "process affinity 1" });
    expect(p.cpu.logical).toBe(os.cpus().length);
  });

  it("prints a compact table for people, bandwidth included", async () => {
    const r = await execa("node", [bin, "probe"], { env });
    const rows = r.stdout.split("\n").map((l) => l.split(/\s{2,}/)[0]);
    expect(rows).toEqual(expect.arrayContaining(["cpu", "cores", "caches", "numa", "isa", "usable", "memory", "bandwidth", "gpus", "fingerprint"]));
    expect(r.stdout).toMatch(/^bandwidth\s+1T \d+\.\d/m);
    expect(r.stdout).toMatch(/^(gpus\s+none|gpu0\s+.+)$/m);
  });

  it("shows GPUs and their NVLink (nvidia-smi replaying the H200 host's real outputs)", async () => {
    const hw = (p: string) => fileURLToPath(new URL(`../../../fixtures/hardware/h200x2-32core/${p}`, import.meta.url));
    const [, ...rows] = readFileSync(hw("nvidia-smi-query.csv"), "utf8").trim().split("\n");
    // The sample's columns: index, name, uuid, total, used, free, util, driver, gen, width, cc, ...
    const csv = rows.map((r) => {
      const c = r.split(",").map((x) => x.trim());
      return [c[0], c[1], c[2], c[3], c[5], c[10], c[7], c[8], c[9], "[N/A]", "[N/A]"].join(", ");
    });
    writeFileSync(join(cache, "query.csv"), `${csv.join("\n")}\n`);
    const smi = join(cache, "nvidia-smi");
    writeFileSync(smi, `#!/bin/sh\ncase "$1" in topo) cat '${hw("nvidia-smi-topo.txt")}';; *) cat '${join(cache, "query.csv")}';; esac\n`);
    chmodSync(smi, 0o755);
    const r = await execa("node", [bin, "probe", "--no-bandwidth"], { env: { ...env, PARATUNE_NVIDIA_SMI: smi, CUDA_VISIBLE_DEVICES: undefined } });
    expect(r.stdout).toMatch(/^gpu0\s+NVIDIA H200, 140 GiB \(140 GiB free\), cc 9\.0, PCIe 5 x16, driver 580\.159\.04$/m);
    expect(r.stdout).toMatch(/^gpu1\s+NVIDIA H200/m);
    expect(r.stdout).toMatch(/^gpu links\s+0-1 NV18$/m);
  });
});
