import { afterAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../../bin/paratune.js", import.meta.url));
const fixture = fileURLToPath(new URL("../../../fixtures/results/hashwork-2core", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "paratune-cli-rec-"));
const env = { PARATUNE_DATA_DIR: join(root, "data"), PARATUNE_CACHE_DIR: join(root, "cache") };
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("paratune recommend", () => {
  it("prints only the .env on stdout, so `paratune recommend > .env` works; the summary goes to stderr", async () => {
    const r = await execa("node", [bin, "recommend", "--shape", "tiny", "--quant", "q4_0", "--budget", "0", "--env-style", "omp"], { env, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    for (const l of lines) expect(l).toMatch(/^(# .*|[A-Z_][A-Z0-9_]*=\S*)$/);
    expect(r.stdout).toMatch(/^OMP_NUM_THREADS=\d+$/m);
    expect(r.stdout).toMatch(/^PARALLEL_WORKERS=\d+$/m);
    expect(r.stderr).toMatch(/source predicted/);
    expect(r.stderr).toMatch(/confidence low/);
  });

  it("answers --json with the source, confidence and speedup", async () => {
    const r = await execa("node", [bin, "recommend", "--shape", "tiny", "--quant", "q4_0", "--budget", "0", "--json"], { env });
    const answer = JSON.parse(r.stdout);
    expect(answer.source).toBe("predicted");
    expect(answer.confidence.level).toBe("low");
    expect(answer.speedup).toBe(answer.recommendation.speedup);
    expect(answer.speedup).toBeCloseTo(answer.recommendation.expected.value / answer.recommendation.baselineValue, 10);
    expect(answer.speedup).toBeGreaterThanOrEqual(0.99);
    expect(answer.env.PARALLEL_WORKERS).toBe(String(answer.config.workers));
  });

  it("refuses an unknown env style and a broken --env-map with one line, exit code 2", async () => {
    const r = await execa("node", [bin, "recommend", "--budget", "0", "--env-style", "docker"], { env, reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown --env-style "docker"/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    const map = join(root, "map.json");
    writeFileSync(map, JSON.stringify({ vars: { workers: "1BAD" } }));
    const m = await execa("node", [bin, "recommend", "--budget", "0", "--env-map", map], { env, reject: false });
    expect(m.exitCode).toBe(2);
    expect(m.stderr).toMatch(/vars\.workers/);
  });
});

describe("paratune report", () => {
  it("rebuilds report.md, charts and .env from the folder tune() left", async () => {
    const dir = join(root, "run");
    cpSync(fixture, dir, { recursive: true });
    expect(existsSync(join(dir, "report.md"))).toBe(false);
    const r = await execa("node", [bin, "report", dir, "--env-style", "omp"], { env });
    expect(r.stdout).toMatch(/the baseline, confidence low/);
    for (const f of ["report.md", ".env", "recommendation.json", "charts/throughput.svg"]) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(readFileSync(join(dir, ".env"), "utf8")).toMatch(/^OMP_NUM_THREADS=1$/m);
    const json = JSON.parse((await execa("node", [bin, "report", dir, "--json"], { env })).stdout);
    // The style chosen before is kept when none is given.
    expect(json.env.OMP_NUM_THREADS).toBe("1");
  });

  it("says what is missing when the folder is not a tuning run", async () => {
    const r = await execa("node", [bin, "report", root], { env, reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/holds no tuning run/);
  });
});
