// The examples as their READMEs tell users to run them: the lines of each README's first `sh`
// block, run for real by bash in a copy of the example's folder, with `npx paratune` standing
// for this repository's bin/paratune.js (run from dist/). Needs Open MPI, a C compiler and
// python3; .ci/run installs them on a clean machine.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TuneResult } from "../src/types.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const bin = fileURLToPath(new URL("../bin/paratune.js", import.meta.url));

/** A README's tuning run takes its budget (90 s at most) plus start-up and the example's build. */
const TUNING_TIMEOUT_MS = 200_000;

let dir: string;
let env: Record<string, string>;
beforeAll(async () => {
  for (const tool of ["mpicc", "mpirun", "python3"]) {
    const found = await execa("sh", ["-c", `command -v ${tool}`], { reject: false });
    if (found.exitCode !== 0) throw new Error(`${tool} is missing: the examples need Open MPI and python3 (apt-get install -y openmpi-bin libopenmpi-dev python3; .ci/run does this)`);
  }
  dir = mkdtempSync(join(tmpdir(), "paratune-examples-"));
  env = {
    PARATUNE_CACHE_DIR: join(dir, "cache"),
    PARATUNE_DATA_DIR: join(dir, "data"),
    PARATUNE_BIN: bin,
    // Open MPI refuses root unless told; CI containers run as root (the READMEs say the same).
    ...(process.getuid?.() === 0 ? { OMPI_ALLOW_RUN_AS_ROOT: "1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: "1" } : {}),
  };
  cpSync(here, join(dir, "examples"), { recursive: true, filter: (src) => !src.endsWith(".test.ts") });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The lines of a README's first ```sh block. */
function readmeLines(example: string): string[] {
  const text = readFileSync(join(here, example, "README.md"), "utf8");
  const block = /```sh\n([\s\S]*?)```/.exec(text);
  if (!block) throw new Error(`${example}/README.md has no sh block`);
  return block[1].split("\n").filter((l) => l.trim() !== "");
}

/** One README line run by bash in the copied example folder; `npx paratune` is this repository's. */
function run(line: string, cwd: string) {
  const script = line.replace(/^npx paratune /, 'node "$PARATUNE_BIN" ');
  return execa("bash", ["-o", "pipefail", "-c", script], { cwd, env, reject: false, all: true });
}

const readResult = (out: string) => JSON.parse(readFileSync(join(out, "result.json"), "utf8")) as TuneResult;
const envValues = (text: string) => Object.fromEntries(text.split("\n").filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split("=") as [string, string]));

describe("examples/mpi-openmp", () => {
  const lines = readmeLines("mpi-openmp");
  const cwd = () => join(dir, "examples", "mpi-openmp");

  it("builds, and tunes np x OMP_NUM_THREADS within its budget; the .env has OMP_NUM_THREADS", async () => {
    expect(lines[0]).toMatch(/^mpicc /);
    const build = await run(lines[0], cwd());
    expect(build.exitCode, build.all).toBe(0);
    const tune = lines.find((l) => l.startsWith("npx paratune tune "))!;
    const r = await run(tune, cwd());
    expect(r.exitCode, r.all).toBe(0);
    const out = join(cwd(), "mpi-run");
    const result = readResult(out);
    // Within its budget: every configuration measured in full, and the run (final race included)
    // ended on time; a little over is the last trial's process clean-up.
    expect(result.elapsedMs).toBeLessThan(result.budgetMs * 1.05);
    const full = new Set(result.trials.filter((t) => t.fidelity >= 1 && t.measurement.status === "ok").map((t) => `${t.config.np}x${t.config.t}`));
    expect([...full].sort()).toEqual(["1x1", "1x2", "2x1", "2x2"]);
    const dotenv = readFileSync(join(out, ".env"), "utf8");
    expect(envValues(dotenv)).toEqual({ OMP_NUM_THREADS: String(result.best!.config.t) });
    expect(dotenv).toContain(`# paratune: on the command line, not in the environment: np=${result.best!.config.np}\n`);
    expect(dotenv).toContain(`# paratune: run: mpirun -np ${result.best!.config.np} --bind-to none ./hybrid --work 100\n`);
  }, TUNING_TIMEOUT_MS);

  it("reports speedup and efficiency per np x t with the USL's peak and 50% point, and the chart", () => {
    const out = join(cwd(), "mpi-run");
    const report = readFileSync(join(out, "report.md"), "utf8");
    const section = report.slice(report.indexOf("## Scaling"), report.indexOf("\n## ", report.indexOf("## Scaling") + 1));
    expect(section).toContain("| np | t | np x t | measured value | speedup | efficiency | USL speedup |");
    expect(section.split("\n").filter((l) => /^\| [12] \| [12] \| [124] \|/.test(l))).toHaveLength(4);
    expect(section).toMatch(/Predicted peak: /);
    expect(section).toMatch(/efficiency/);
    expect(section).toContain("![Speedup over np x t](charts/scaling.svg)");
    expect(readFileSync(join(out, "charts", "scaling.svg"), "utf8")).toMatch(/^<svg/);
  });

  it("recommend --cmd with the same flags answers from the store, in under a second", async () => {
    const recommend = lines.find((l) => l.startsWith("npx paratune recommend "))!;
    const r = await run(recommend, cwd());
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/source store/);
    const best = readResult(join(cwd(), "mpi-run")).best!.config;
    expect(envValues(readFileSync(join(cwd(), "hybrid.env"), "utf8"))).toEqual({ OMP_NUM_THREADS: String(best.t) });
    // The same question as JSON, for the time recommend() took (the look-up, not Node's start).
    const json = await run(recommend.replace(/ > hybrid\.env$/, " --json"), cwd());
    expect(json.exitCode, json.all).toBe(0);
    const answer = JSON.parse(json.stdout) as { source: string; elapsedMs: number; config: Record<string, number> };
    expect(answer.source).toBe("store");
    expect(answer.config).toEqual(best);
    expect(answer.elapsedMs).toBeLessThan(1000);
    // Other values are another question: with --budget 0 there is no stored answer and no model.
    const other = await run(recommend.replace("--param np=1,2", "--param np=1,2,4").replace(/--budget \S+ > hybrid\.env$/, "--budget 0"), cwd());
    expect(other.exitCode).toBe(2);
    expect(other.stderr).toMatch(/was not tuned on this machine with these flags/);
  });

  it("report --env-style omp writes the BLAS thread counts for the parameter that feeds OMP_NUM_THREADS", async () => {
    const report = lines.find((l) => l.startsWith("npx paratune report "))!;
    const r = await run(report, cwd());
    expect(r.exitCode, r.all).toBe(0);
    const t = String(readResult(join(cwd(), "mpi-run")).best!.config.t);
    expect(envValues(readFileSync(join(cwd(), "mpi-run", ".env"), "utf8"))).toEqual({ OMP_NUM_THREADS: t, MKL_NUM_THREADS: t, OPENBLAS_NUM_THREADS: t });
  });
});

describe("examples/across-hosts (Open MPI with localhost slots standing for two hosts)", () => {
  it("tunes the host list as a parameter of mpirun, and refuses an env style that would write nothing", async () => {
    const cwd = join(dir, "examples", "mpi-openmp");
    if (!existsSync(join(cwd, "hybrid"))) {
      const build = await run(readmeLines("mpi-openmp")[0], cwd);
      expect(build.exitCode, build.all).toBe(0);
    }
    const [tune] = readmeLines("across-hosts");
    const r = await run(tune, cwd);
    expect(r.exitCode, r.all).toBe(0);
    const result = readResult(join(cwd, "hosts-run"));
    const ranks = new Map(result.trials.filter((t) => t.measurement.status === "ok").map((t) => [t.config.hosts, t]));
    expect([...ranks.keys()].sort()).toEqual(["localhost:2", "localhost:2,localhost:2"]);
    expect(readFileSync(join(cwd, "hosts-run", ".env"), "utf8")).toContain(`# paratune: on the command line, not in the environment: hosts=${result.best!.config.hosts}\n`);
    const omp = await run('npx paratune report hosts-run --env-style omp', cwd);
    expect(omp.exitCode).toBe(2);
    expect(omp.stderr).toMatch(/--env-style omp writes nothing for this command/);
  }, TUNING_TIMEOUT_MS);
});

describe("examples/python-batch", () => {
  it("tunes WORKERS x BATCH_SIZE; recommend --cmd answers from the store with both variables", async () => {
    const cwd = join(dir, "examples", "python-batch");
    const [tune, recommend] = readmeLines("python-batch");
    const r = await run(tune, cwd);
    expect(r.exitCode, r.all).toBe(0);
    const result = readResult(join(cwd, "batch-run"));
    const full = new Set(result.trials.filter((t) => t.fidelity >= 1 && t.measurement.status === "ok").map((t) => `${t.config.workers}x${t.config.batch}`));
    expect(full.size).toBe(6);
    const best = result.best!.config;
    const expected = { WORKERS: String(best.workers), BATCH_SIZE: String(best.batch) };
    expect(envValues(readFileSync(join(cwd, "batch-run", ".env"), "utf8"))).toEqual(expected);
    expect(readFileSync(join(cwd, "batch-run", "report.md"), "utf8")).toContain("## Scaling");
    const again = await run(recommend, cwd);
    expect(again.exitCode, again.all).toBe(0);
    expect(again.all).toMatch(/source store/);
    expect(envValues(readFileSync(join(cwd, "batch.env"), "utf8"))).toEqual(expected);
  }, TUNING_TIMEOUT_MS);
});
