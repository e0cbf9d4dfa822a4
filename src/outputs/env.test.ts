import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { envBlock, envRecord, loadEnvMap, mergeEnv, renderEnv, writeEnvFile, type EnvBlock } from "./env.js";
import { recommendationFromResult } from "./recommendation.js";
import type { TuneResult } from "../types.js";
import { UserInputError } from "../errors.js";

const block: EnvBlock = {
  header: ["paratune: workers=2 threads=4", "paratune: 1.80x the baseline"],
  entries: [
    { name: "PARALLEL_WORKERS", value: "2", comment: "paratune: workers=2 (baseline 1)" },
    { name: "INFERENCE_NUM_THREADS", value: "4", comment: "paratune: threads=4 (baseline 8)" },
    { name: "MODEL_PATH", value: '"/models/my model.gguf"', comment: "paratune: the model file to load" },
  ],
};

describe(".env merge", () => {
  it("keeps the user's other keys, comments, blank lines and order, replacing ours in place", () => {
    const existing = [
      "# database settings",
      "DATABASE_URL=postgres://db/app # inline comment stays",
      "",
      "export INFERENCE_NUM_THREADS=16",
      'PRIVATE_KEY="-----BEGIN KEY-----',
      "PARALLEL_WORKERS=99",
      '-----END KEY-----"',
      "  # indented comment",
      "LOG_LEVEL=debug",
      "",
    ].join("\n");
    const merged = mergeEnv(existing, block);
    const lines = merged.split("\n");
    // Foreign lines survive verbatim and in their order.
    const foreign = ["# database settings", "DATABASE_URL=postgres://db/app # inline comment stays", 'PRIVATE_KEY="-----BEGIN KEY-----', "PARALLEL_WORKERS=99", '-----END KEY-----"', "  # indented comment", "LOG_LEVEL=debug"];
    let at = -1;
    for (const f of foreign) {
      const i = lines.indexOf(f, at + 1);
      expect(i, f).toBeGreaterThan(at);
      at = i;
    }
    // The key inside a multi-line value was not mistaken for an assignment; the real one kept `export`.
    expect(lines).toContain("export INFERENCE_NUM_THREADS=4");
    expect(lines.indexOf("export INFERENCE_NUM_THREADS=4")).toBeLessThan(lines.indexOf("LOG_LEVEL=debug"));
    expect(merged).not.toContain("INFERENCE_NUM_THREADS=16");
    // Keys the file lacked are appended after it.
    expect(lines.indexOf("PARALLEL_WORKERS=2")).toBeGreaterThan(lines.indexOf("LOG_LEVEL=debug"));
    expect(lines).toContain('MODEL_PATH="/models/my model.gguf"');
    expect(lines.filter((l) => l.startsWith("# paratune: workers=2 threads=4"))).toHaveLength(1);
  });

  it("is idempotent: merging twice leaves one copy of our comments", () => {
    const once = mergeEnv("A=1\n# mine\nPARALLEL_WORKERS=3\n", block);
    const twice = mergeEnv(once, block);
    expect(twice).toBe(once);
    expect(once.startsWith("A=1\n")).toBe(true);
    expect(once.match(/^PARALLEL_WORKERS=/gm)).toHaveLength(1);
    expect(once).toContain("# mine\n");
  });

  it("keeps CRLF line endings", () => {
    const merged = mergeEnv("A=1\r\nB=2\r\n", block);
    expect(merged.split("\r\n").length).toBeGreaterThan(4);
    expect(merged.replace(/\r\n/g, "")).not.toContain("\n");
  });

  it("renders a fresh .env that the merge reads back unchanged", () => {
    const fresh = renderEnv(block);
    expect(mergeEnv(fresh, block)).toBe(fresh);
  });
});

describe("--env-map", () => {
  const dir = mkdtempSync(join(tmpdir(), "paratune-envmap-"));
  it("accepts a valid map", () => {
    const p = join(dir, "ok.json");
    writeFileSync(p, JSON.stringify({ extends: "omp", vars: { workers: "JOBS", threads: ["OMP_NUM_THREADS", "MY_T"], quant: null } }));
    expect(loadEnvMap(p).vars.threads).toEqual(["OMP_NUM_THREADS", "MY_T"]);
  });
  it("rejects a bad variable name and an unknown style with one clear line", () => {
    const p = join(dir, "bad.json");
    writeFileSync(p, JSON.stringify({ vars: { workers: "2WORKERS" } }));
    expect(() => loadEnvMap(p)).toThrow(UserInputError);
    expect(() => loadEnvMap(p)).toThrow(/vars\.workers/);
    writeFileSync(p, JSON.stringify({ extends: "docker", vars: {} }));
    expect(() => loadEnvMap(p)).toThrow(/extends/);
    writeFileSync(p, "{not json");
    expect(() => loadEnvMap(p)).toThrow(/not valid JSON/);
  });
});

describe("atomic .env write", () => {
  const distEnv = fileURLToPath(new URL("../../dist/src/outputs/env.js", import.meta.url));

  it("leaves the old file whole when the writer is SIGKILLed mid-write", async () => {
    expect(existsSync(distEnv), "run `npx tsc -p .` first: the child process runs the compiled env.js").toBe(true);
    const dir = mkdtempSync(join(tmpdir(), "paratune-atomic-"));
    const target = join(dir, ".env");
    // A large .env (about 30 MB of the user's keys) so that the write takes long enough to interrupt.
    const old = Array.from({ length: 250_000 }, (_, i) => `USER_KEY_${i}=${"v".repeat(100)}`).join("\n") + "\n";
    const child = `
      import { writeEnvFile } from ${JSON.stringify(distEnv)};
      await writeEnvFile(process.argv[1], ${JSON.stringify(block)});
      process.stdout.write("done");
    `;
    let caught = 0;
    for (let attempt = 0; attempt < 6 && caught < 2; attempt++) {
      writeFileSync(target, old);
      const proc = spawn(process.execPath, ["--input-type=module", "-e", child, target], { stdio: ["ignore", "pipe", "inherit"] });
      const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
      // Poll for write-file-atomic's temporary file beside the target, and kill as soon as it holds data.
      let sawTemp = false;
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && proc.exitCode === null) {
        const temp = readdirSync(dir).find((f) => f !== ".env");
        if (temp) {
          try {
            // Prefer a kill while data is being written; on a file system where that window is
            // too short to hit, later attempts kill as soon as the temporary file exists.
            if (statSync(join(dir, temp)).size > 0 || attempt >= 3) {
              sawTemp = true;
              proc.kill("SIGKILL");
              break;
            }
          } catch {
            // renamed between readdir and stat: the write finished.
          }
        }
        await new Promise((r) => setImmediate(r));
      }
      await exited;
      const after = readFileSync(target, "utf8");
      // Whatever the moment, the file is either the old one or the complete new one, never a mix.
      const isOld = after === old;
      const isNew = after === mergeEnv(old, block);
      expect(isOld || isNew).toBe(true);
      if (sawTemp && isOld) caught++;
      for (const f of readdirSync(dir)) if (f !== ".env") rmSync(join(dir, f));
    }
    // The test is only worth something if it really interrupted writes.
    expect(caught).toBeGreaterThan(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates the file and its folder when missing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "paratune-atomic-"));
    const target = join(dir, "deep", ".env");
    await writeEnvFile(target, block);
    expect(readFileSync(target, "utf8")).toBe(mergeEnv("", block));
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("env styles on a real recommendation (fixtures/results/llama-tiny-2core)", () => {
  const result = JSON.parse(readFileSync(fileURLToPath(new URL("../../fixtures/results/llama-tiny-2core/result.json", import.meta.url)), "utf8")) as TuneResult;
  const rec = recommendationFromResult(result, "tuned");
  const { workers, threads, sequences, quant } = rec.config;

  it("names the values as each style's program reads them", () => {
    expect(envRecord(envBlock(rec, { style: "generic" }))).toMatchObject({
      PARALLEL_WORKERS: String(workers),
      INFERENCE_NUM_THREADS: String(threads),
      PARALLEL_SEQUENCES: String(sequences),
      MODEL_QUANT: String(quant),
    });
    expect(envRecord(envBlock(rec, { style: "llama-server" }))).toMatchObject({
      LLAMA_ARG_THREADS: String(threads),
      LLAMA_ARG_THREADS_BATCH: String(threads),
      LLAMA_ARG_N_PARALLEL: String(sequences),
      PARATUNE_SERVER_INSTANCES: String(workers),
    });
    const omp = envBlock(rec, { style: "omp" });
    expect(envRecord(omp)).toMatchObject({ OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), PARALLEL_WORKERS: String(workers) });
    // What a style has no name for is said in the header, not silently dropped.
    expect(omp.header.join("\n")).toMatch(new RegExp(`not written by this style: .*sequences=${sequences}`));
  });

  it("uses an --env-map's names on top of its base style, and refuses a key the recommendation does not set", () => {
    const block = envBlock(rec, { map: { extends: "omp", vars: { workers: "JOBS", threads: ["OMP_NUM_THREADS", "MY_THREADS"], quant: null } } });
    const vals = envRecord(block);
    expect(vals.JOBS).toBe(String(workers));
    expect(vals.MY_THREADS).toBe(String(threads));
    expect(vals.PARALLEL_WORKERS).toBeUndefined();
    expect(() => envBlock(rec, { map: { vars: { gpus: "GPUS" } } })).toThrow(/does not set/);
    expect(() => envBlock(rec, { map: { vars: { workers: "X", threads: "X" } } })).toThrow(/writes X twice/);
  });

  it("places offloading workers on the GPUs they ran on, one CUDA_VISIBLE_DEVICES each", () => {
    const onGpus = (config: Record<string, number>, gpuIndices: number[]) =>
      ({ ...rec, config: { ...rec.config, gpuLayers: 5, ...config }, hardware: { ...rec.hardware, gpuIndices } });
    const one = envBlock(onGpus({ workers: 3 }, [0]), { style: "llama-server" });
    expect(envRecord(one)).toMatchObject({ PARATUNE_SERVER_DEVICES: "0 0 0", LLAMA_ARG_N_GPU_LAYERS: "5" });
    expect(one.entries.find((e) => e.name === "PARATUNE_SERVER_DEVICES")!.comment).toMatch(/all on GPU 0/);
    expect(envRecord(one).LLAMA_ARG_SPLIT_MODE).toBeUndefined();
    expect(envRecord(one).CUDA_DEVICE_ORDER).toBeUndefined();

    const spread = onGpus({ workers: 4, gpusPerWorker: 1 }, [0, 1]);
    expect(envRecord(envBlock(spread))).toMatchObject({ GPU_DEVICES: "0 1 0 1", GPUS_PER_WORKER: "1", CUDA_DEVICE_ORDER: "PCI_BUS_ID" });
    const server = envBlock(spread, { style: "llama-server" });
    expect(envRecord(server).PARATUNE_SERVER_DEVICES).toBe("0 1 0 1");
    // The devices carry it: not reported as a value this style cannot write.
    expect(server.header.join("\n")).not.toMatch(/not written by this style: .*gpusPerWorker/);

    const split = envBlock(onGpus({ workers: 2, gpusPerWorker: 2 }, [2, 3]), { style: "llama-server" });
    expect(envRecord(split)).toMatchObject({ PARATUNE_SERVER_DEVICES: "2,3 2,3", LLAMA_ARG_SPLIT_MODE: "layer" });
  });

  it("comments every value with the measured speedup", () => {
    const text = renderEnv(envBlock(rec));
    // 650x, with its 95% interval: 2-3 significant digits, not 649.62x.
    expect(rec.speedup!).toBeCloseTo(649.62, 2);
    expect(text).toMatch(/650x \[\d+-\d+x\] the baseline/);
    for (const line of text.split("\n").filter((l) => /^[A-Z]/.test(l))) {
      const prev = text.split("\n")[text.split("\n").indexOf(line) - 1];
      expect(prev).toMatch(/^# paratune: /);
    }
  });
});
