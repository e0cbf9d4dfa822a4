import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { synthesize } from "../../synth.js";

const bin = fileURLToPath(new URL("../../../bin/paratune.js", import.meta.url));
const metricProgram = fileURLToPath(new URL("../../workloads/test-programs/metric.mjs", import.meta.url));
const paratune = (args: string[]) => execa(process.execPath, [bin, ...args], { reject: false });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "paratune-bench-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("paratune bench", () => {
  it("runs the llama workload and prints the measurement as JSON", async () => {
    const { path } = await synthesize({ shape: "tiny", quant: "q4_0", outDir: dir });
    const r = await paratune(["bench", "--model", path, "--threads", "1", "--sequences", "2", "--prompt-tokens", "8", "--gen-tokens", "8", "--reps", "2", "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.workload).toBe("llama");
    expect(out.config).toEqual({ workers: 1, threads: 1, sequences: 2 });
    expect(out.measurement.status).toBe("ok");
    expect(out.measurement.samples).toHaveLength(2);
    expect(out.measurement.metrics.decodeTps).toBeGreaterThan(0);
    // Flash attention forced either way still decodes (the fidelity script compares both settings).
    for (const mode of ["on", "off"]) {
      const f = await paratune(["bench", "--model", path, "--threads", "1", "--prompt-tokens", "8", "--gen-tokens", "4", "--reps", "1", "--flash-attention", mode, "--json"]);
      expect(f.exitCode, f.stderr).toBe(0);
      expect(JSON.parse(f.stdout).measurement.status).toBe("ok");
    }
  }, 90_000);

  it("runs a command with placeholders and environment, reading its metric", async () => {
    const r = await paratune([
      "bench", "--cmd", `${JSON.stringify(process.execPath)} ${metricProgram} {workers}`,
      "--set", "workers=3", "--env", "PARALLEL_WORKERS={workers}", "--metric", "throughput: ([0-9.]+)", "--reps", "2",
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/value\s+303\.00 ±0\.0%\s+\(2 samples/);
  }, 30_000);

  it("exits 1 with the reason when the trial fails", async () => {
    const r = await paratune(["bench", "--cmd", "echo broken; exit 4", "--json"]);
    expect(r.exitCode).toBe(1);
    const m = JSON.parse(r.stdout).measurement;
    expect(m.status).toBe("failed");
    expect(m.error).toBe("command exited with code 4\nbroken");
  });

  // A machine with an NVIDIA driver may load the CUDA backend, and the workers would then run.
  it.skipIf(existsSync("/dev/nvidiactl"))("deals workers to GPUs with --gpus-per-worker: each worker starts seeing only its own", async () => {
    const { path } = await synthesize({ shape: "tiny", quant: "q4_0", outDir: dir });
    // nvidia-smi listing two GPUs, as on the two-H200 host; this machine has no CUDA backend, so
    // each worker fails saying which GPUs it was given.
    const smi = join(dir, "nvidia-smi");
    await writeFile(smi, "#!/bin/sh\nprintf '0, NVIDIA H200, GPU-a, 143771, 143156, 9.0, 580.159.04, 5, 16, 5, 16\\n1, NVIDIA H200, GPU-b, 143771, 143156, 9.0, 580.159.04, 5, 16, 5, 16\\n'\n");
    await chmod(smi, 0o755);
    const run = (more: string[]) =>
      execa(process.execPath, [bin, "bench", "--model", path, "--threads", "1", "--gpu-layers", "5", "--prompt-tokens", "8", "--gen-tokens", "4", "--reps", "1", "--json", ...more], { reject: false, env: { PARATUNE_NVIDIA_SMI: smi, CUDA_VISIBLE_DEVICES: undefined } });
    const spread = await run(["--workers", "2", "--gpus-per-worker", "1"]);
    expect(spread.exitCode, spread.stderr).toBe(1);
    const m = JSON.parse(spread.stdout);
    expect(m.config).toMatchObject({ workers: 2, gpuLayers: 5, gpusPerWorker: 1 });
    expect(m.measurement.error).toMatch(/no GPU backend loaded \(.*CUDA_VISIBLE_DEVICES=[01]\b/);
    const split = await run(["--gpus-per-worker", "2"]);
    expect(JSON.parse(split.stdout).measurement.error).toMatch(/CUDA_VISIBLE_DEVICES=0,1\b/);
    const tooMany = await run(["--gpus-per-worker", "4"]);
    expect(tooMany.exitCode).toBe(2);
    expect(tooMany.stderr).toMatch(/^paratune: --gpus-per-worker 4: nvidia-smi lists 2 GPUs here/);
    const cpu = await run(["--gpu-layers", "0", "--gpus-per-worker", "1"]);
    expect(cpu.exitCode).toBe(2);
    expect(cpu.stderr).toMatch(/^paratune: --gpus-per-worker places offloaded layers/);
  }, 60_000);

  it("answers user mistakes with one line and exit code 2", async () => {
    for (const args of [
      ["bench", "--cmd", "echo {x}"],
      ["bench"],
      ["bench", "--model", join(dir, "none.gguf")],
      ["bench", "--cmd", "true", "--timeout", "soon"],
      ["bench", "--cmd", "true", "--metric", "no group"],
      ["bench", "--model", join(dir, "none.gguf"), "--flash-attention", "maybe"],
    ]) {
      const r = await paratune(args);
      expect(r.exitCode, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/^paratune: /);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    }
  }, 30_000);
});
