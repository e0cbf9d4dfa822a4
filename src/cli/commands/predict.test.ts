import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { synthesize } from "../../synth.js";

const bin = fileURLToPath(new URL("../../../bin/paratune.js", import.meta.url));
// The probed profile of the 16-core Xeon the models were checked on (models/data/).
const xeon = fileURLToPath(new URL("../../../models/data/xeon16.hardware.json", import.meta.url));
const landscape = fileURLToPath(new URL("../../../models/data/xeon16-tinyllama-q4_0.jsonl", import.meta.url));
const paratune = (args: string[]) => execa("node", [bin, ...args], { reject: false, env: { PARATUNE_CACHE_DIR: dir } });

let dir = "";
let model = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "paratune-predict-"));
  model = (await synthesize({ shape: "tiny", quant: "q4_0", outDir: dir })).path;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("paratune predict", () => {
  it("predicts every combination for another machine's profile, with an interval, a speedup and the model's name", async () => {
    const r = await paratune(["predict", "--model", model, "--hardware", xeon, "--workers", "1,4", "--sequences", "1,8", "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.hardware.usableCpus).toBe(16);
    expect(out.baseline.config).toEqual({ workers: 1, threads: 16, sequences: 1 });
    expect(out.predictions).toHaveLength(4);
    for (const p of out.predictions) {
      expect(p.source).toBe("roofline (prior)");
      expect(p.interval95[0]).toBeLessThan(p.mean);
      expect(p.interval95[1]).toBeGreaterThan(p.mean);
      expect(p.speedup).toBeCloseTo(p.mean / out.baseline.mean, 9);
    }
    // Threads default to the usable cores shared among the workers.
    expect(out.predictions.find((p: any) => p.config.workers === 4).config.threads).toBe(4);
  });

  it("fits on measured trials when given them and says so", async () => {
    const r = await paratune(["predict", "--model", model, "--hardware", xeon, "--workers", "2", "--sequences", "4", "--observed", landscape]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/fitted on 51 measured configurations/);
    expect(r.stdout).toMatch(/roofline \(calibrated on 47\)|gp x roofline \(fitted on 47\)/);
  });

  it("turns user mistakes into one line with what to do", async () => {
    const bad = join(dir, "not-a-profile.json");
    await writeFile(bad, JSON.stringify({ hello: 1 }));
    for (const [args, message] of [
      [["--hardware", bad], /is not a hardware profile/],
      [["--hardware", xeon, "--workers", "0"], /--workers must be positive integers/],
      [["--hardware", xeon, "--quant", "q8_0"], /no --model file has quant q8_0/],
    ] as const) {
      const r = await paratune(["predict", "--model", model, ...args]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    }
  });
});
