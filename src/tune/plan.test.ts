// `paratune tune --dry-run --hardware <profile>`: the search space a GPU machine would get, checked
// here without a GPU, from a profile of the H200 host and a real model file.
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { probe } from "../../probes/index.js";
import { synthesize } from "../synth.js";
import { useTempPaths } from "../testing/temp-paths.js";
import type { HardwareProfile } from "../types.js";
import { H200_PROFILE } from "../testing/h200-profile.js";

const bin = fileURLToPath(new URL("../../bin/paratune.js", import.meta.url));
const paths = useTempPaths("paratune-plan");
let model: string;
let profileFile: string;

beforeAll(async () => {
  model = (await synthesize({ shape: "tiny", quant: "q4_0", outDir: paths.root() })).path;
  profileFile = join(paths.root(), "h200.json");
  writeFileSync(profileFile, JSON.stringify(await H200_PROFILE()));
});

function dryRun(...args: string[]) {
  return JSON.parse(execFileSync(process.execPath, [bin, "tune", "--dry-run", "--json", "--model", model, ...args], { encoding: "utf8" }));
}

describe("tune --dry-run", () => {
  it("plans gpuLayers, VRAM and a GPU baseline from a saved H200 profile, running no trial", () => {
    const plan = dryRun("--hardware", profileFile);
    const names = plan.params.map((p: { name: string }) => p.name);
    expect(names).toContain("gpuLayers");
    const layers = plan.params.find((p: { name: string }) => p.name === "gpuLayers").values;
    // The tiny model has 4 layers plus the output layer: none, half, all.
    expect(layers).toEqual([0, 3, 5]);
    expect(plan.hardware.gpuBackend).toBe("cuda");
    expect(plan.constraints.map((c: { name: string }) => c.name)).toEqual(["cores", "memory", "vram"]);
    expect(plan.baseline).toMatchObject({ workers: 1, sequences: 1, gpuLayers: 5 });
    // Sequences start at 64 on a GPU and may grow to llama.cpp's 256.
    expect(plan.params.find((p: { name: string }) => p.name === "sequences").values.at(-1)).toBe(64);
    expect(plan.growth).toEqual([expect.objectContaining({ param: "sequences", from: 64, ceiling: 256 })]);
    expect(plan.feasible).toBeGreaterThan(0);
  });

  it("places workers on two GPUs: GPUs per worker 1 or 2, VRAM checked on the fullest GPU", async () => {
    const h200 = await H200_PROFILE();
    const two: HardwareProfile = { ...h200, gpus: [h200.gpus[0], { ...h200.gpus[0], index: 1, vramFreeBytes: 2 * 1024 ** 3 }] };
    const file = join(paths.root(), "two.json");
    writeFileSync(file, JSON.stringify(two));
    const plan = dryRun("--hardware", file);
    expect(plan.params.find((p: { name: string }) => p.name === "gpusPerWorker").values).toEqual([1, 2]);
    // One process not told otherwise sees both GPUs.
    expect(plan.baseline).toMatchObject({ workers: 1, gpusPerWorker: 2 });
    const byName = Object.fromEntries(plan.constraints.map((c: { name: string }) => [c.name, c]));
    // Without offload the GPUs a worker sees do not matter: one of the two values is kept.
    expect(byName.placement.ruledOut).toBeGreaterThan(0);
    // The second GPU has 2 GiB free: it bounds what fits, as the emptiest GPU.
    expect(byName.vram.ruledOut).toBeGreaterThan(0);
    expect(byName.vram.example).toMatch(/of VRAM on its fullest GPU/);
  });

  it("keeps a batch size the user fixed in the space, so trials and the .env use it", () => {
    const plan = dryRun("--hardware", profileFile, "--batch", "256");
    expect(plan.params.find((p: { name: string }) => p.name === "batch")?.values).toEqual([256]);
    expect(plan.baseline.batch).toBe(256);
  });

  it("rules out what does not fit in VRAM, saying what it needs", async () => {
    const h200 = await H200_PROFILE();
    // The same machine with 1 GiB of VRAM free: each worker's CUDA runtime alone takes 600 MiB.
    const small: HardwareProfile = { ...h200, gpus: h200.gpus.map((g) => ({ ...g, vramFreeBytes: 1024 ** 3 })) };
    const file = join(paths.root(), "small.json");
    writeFileSync(file, JSON.stringify(small));
    const plan = dryRun("--hardware", file);
    const vram = plan.constraints.find((c: { name: string }) => c.name === "vram");
    expect(vram.ruledOut).toBeGreaterThan(0);
    expect(vram.example).toMatch(/needs .* of VRAM .* workers x \(weights .* \+ KV cache and buffers .* \+ runtime 600 MiB\)\) but .* is free to use/);
  });

  it("plans for this machine without --hardware, and refuses --hardware on a real run", async () => {
    const here = await probe();
    const plan = dryRun();
    expect(plan.hardware.fingerprint).toBe(here.fingerprint);
    if (here.gpus.length === 0) expect(plan.params.map((p: { name: string }) => p.name)).not.toContain("gpuLayers");
    const r = spawnSync(process.execPath, [bin, "tune", "--model", model, "--hardware", profileFile], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--hardware plans for another machine/);
  });
});
