import os from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { probe, threadCounts, usableCpus } from "./index.js";
import { useTempPaths } from "../src/testing/temp-paths.js";

describe("probe() on this machine", () => {
  const paths = useTempPaths("paratune-probe", "shared");
  const dir = () => paths.root();

  it("reads the CPU, limits and memory, and gives the same fingerprint twice", async () => {
    const a = await probe();
    const b = await probe();
    expect(a.cpu.logical).toBe(os.cpus().length);
    expect(a.limits.cpus).toBeLessThanOrEqual(a.cpu.logical);
    expect(Math.floor(a.limits.cpus)).toBe(usableCpus());
    expect(a.memory.totalBytes).toBe(os.totalmem());
    expect(a.memory.availableBytes).toBeLessThanOrEqual(a.memory.totalBytes);
    expect(a.bandwidth).toBeNull();
    expect(a.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(b.fingerprint).toBe(a.fingerprint);
  });

  it("without cache sizes (a store look-up) gives the same fingerprint and CPU, and the sysfs caches where there are any", async () => {
    const full = await probe();
    const lite = await probe({ cacheSizes: false });
    expect(lite.fingerprint).toBe(full.fingerprint);
    expect({ ...lite.cpu, l2Bytes: null, l3Bytes: null }).toEqual({ ...full.cpu, l2Bytes: null, l3Bytes: null });
    // Either the kernel files gave the sizes (the same as the full probe's) or they stay unknown.
    for (const k of ["l2Bytes", "l3Bytes"] as const) expect([full.cpu[k], null]).toContain(lite.cpu[k]);
  });

  it("no GPU is a normal answer; a missing nvidia-smi adds no warning", async () => {
    const p = await probe({ nvidiaSmi: join(dir(), "no-such-nvidia-smi") });
    expect(p.gpus).toEqual([]);
    expect(p.gpuLinks).toEqual([]);
    expect(p.warnings).toEqual([]);
  });

  it("measures bandwidth once, reuses it from the cache, and measures again on refresh", async () => {
    // Busy or not, keep the cache deterministic here: the busy rule has its own cases below.
    const opts = { bandwidth: true, bandwidthReps: 2, busyCpuShare: Infinity };
    const first = await probe(opts);
    const cores = first.cpu.smtSiblings.filter((g) => g.some((c) => first.limits.allowedCpus.includes(c))).length;
    expect(first.bandwidth!.curve.map((p) => p.threads)).toEqual(threadCounts(usableCpus(), [cores]));
    expect(first.bandwidth!.method).not.toMatch(/cached/);
    const second = await probe(opts);
    expect(second.bandwidth!.curve).toEqual(first.bandwidth!.curve);
    expect(second.bandwidth!.method).toMatch(/; cached, measured \d{4}-/);
    const third = await probe({ ...opts, refresh: true });
    expect(third.bandwidth!.method).not.toMatch(/cached/);
  });

  it("a curve measured busy is flagged, and replaced once the machine is quiet", async () => {
    const busy = await probe({ bandwidth: true, bandwidthReps: 1, refresh: true, busyCpuShare: -1 });
    expect(busy.warnings).toEqual([expect.stringMatching(/measured while other work kept \d+% of the usable CPUs busy/)]);
    // Still busy: the busy curve is reused, and says so.
    const again = await probe({ bandwidth: true, bandwidthReps: 1, busyCpuShare: -1 });
    expect(again.bandwidth!.curve).toEqual(busy.bandwidth!.curve);
    expect(again.warnings).toEqual([expect.stringMatching(/^the cached memory bandwidth was measured while the machine was busy, and it still is \(other work kept \d+%/)]);
    // Now every load counts as quiet: the busy curve must not be reused.
    const quiet = await probe({ bandwidth: true, bandwidthReps: 1, busyCpuShare: Infinity });
    expect(quiet.bandwidth!.method).not.toMatch(/cached/);
    expect(quiet.warnings).toEqual([]);
  });
});
