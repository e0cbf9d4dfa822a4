import { execa } from "execa";
import { mkdtempSync, rmSync } from "node:fs";
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

  it("prints a compact table for people, bandwidth included", async () => {
    const r = await execa("node", [bin, "probe"], { env });
    const rows = r.stdout.split("\n").map((l) => l.split(/\s{2,}/)[0]);
    expect(rows).toEqual(expect.arrayContaining(["cpu", "cores", "caches", "numa", "isa", "usable", "memory", "bandwidth", "gpus", "fingerprint"]));
    expect(r.stdout).toMatch(/^bandwidth\s+1T \d+\.\d/m);
    expect(r.stdout).toMatch(/^(gpus\s+none|gpu0\s+.+)$/m);
  });
});
