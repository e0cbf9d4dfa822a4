// `paratune tune` as a user runs it: a real child process of bin/paratune.js (run from dist/),
// interrupted with a real SIGINT, resumed, and tuning a real command.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readJournal } from "../../tune/journal.js";
import { trialKey } from "../../tune/study.js";
import { descendants, isAlive } from "../../workloads/processes.js";
import type { TuneResult } from "../../types.js";

const bin = fileURLToPath(new URL("../../../bin/paratune.js", import.meta.url));
const landscape = fileURLToPath(new URL("../../tune/test-programs/landscape.mjs", import.meta.url));

let dir: string;
let env: Record<string, string>;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "paratune-tune-cli-"));
  env = { PARATUNE_CACHE_DIR: join(dir, "cache"), PARATUNE_DATA_DIR: join(dir, "data") };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const journalLines = (out: string) => readJournal(join(out, "trials.jsonl")).records.length;

// Pinned to one CPU with taskset, which the probe reads as the usable cores: on a two-core
// machine shared with other work a two-thread llama.cpp stalls and trials crawl.
const tune = (args: string[]) => execa("taskset", ["-c", "0", process.execPath, bin, "tune", ...args], { env, reject: false, all: true });

describe("paratune tune", () => {
  const out = () => join(dir, "llama");

  it("ends cleanly on Ctrl-C: exit 130, the running trial's workers gone, journal and results written", async () => {
    const child = tune(["--shape", "tiny", "--budget", "2m", "--out", out()]);
    // Wait for two finished trials, so that a third is running when the interrupt comes.
    const t0 = Date.now();
    while (!existsSync(join(out(), "trials.jsonl")) || journalLines(out()) < 2) {
      if (Date.now() - t0 > 60_000 || child.exitCode !== null) break;
      await sleep(100);
    }
    expect(journalLines(out())).toBeGreaterThanOrEqual(2);
    await sleep(300);
    const workers = descendants(child.pid!);
    child.kill("SIGINT");
    const sent = Date.now();
    const r = await child;
    expect(Date.now() - sent).toBeLessThan(10_000);
    expect(r.exitCode).toBe(130);
    expect(r.all).toMatch(/stopping - writing the results/);
    for (const pid of workers) expect(isAlive(pid)).toBe(false);

    const { records, tornLines } = readJournal(join(out(), "trials.jsonl"));
    expect(tornLines).toBe(0);
    const result = JSON.parse(readFileSync(join(out(), "result.json"), "utf8")) as TuneResult;
    expect(result.ended).toBe("interrupted");
    expect(result.trials.map((t) => t.id)).toEqual(records.map((t) => t.id));
    for (const f of ["recommendation.json", ".env", "report.md"]) expect(existsSync(join(out(), f))).toBe(true);
    expect(r.all).toMatch(/--resume/);
  });

  it("resumes without rerunning a journaled trial", async () => {
    const before = readJournal(join(out(), "trials.jsonl")).records;
    const r = await tune(["--resume", out(), "--budget", "12s", "--json"]);
    expect(r.exitCode).toBe(0);
    const printed = JSON.parse(r.stdout) as { result: TuneResult };
    const after = readJournal(join(out(), "trials.jsonl")).records;
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.length).toBeGreaterThan(before.length);
    // Nothing journaled runs again; the final race's re-measurements repeat configurations on purpose.
    const keys = after.filter((t) => t.phase !== "race").map((t) => trialKey(t.config, t.fidelity));
    expect(new Set(keys).size).toBe(keys.length);
    expect(printed.result.trials).toHaveLength(after.length);
    // Elapsed time continues from the first session.
    expect(after[before.length].elapsedMs).toBeGreaterThan(before[before.length - 1].elapsedMs);
  });

  it("refuses to resume a study measured on another machine", async () => {
    const copy = join(dir, "copied");
    cpSync(out(), copy, { recursive: true });
    const study = JSON.parse(readFileSync(join(copy, "study.json"), "utf8"));
    writeFileSync(join(copy, "study.json"), JSON.stringify({ ...study, fingerprint: "0000000000000000" }));
    const r = await tune(["--resume", copy, "--budget", "10s"]);
    expect(r.exitCode).toBe(2);
    expect(r.all).toMatch(/was measured on another machine/);
  });

  it("tunes a command: finds the best values of its placeholders", async () => {
    const cmdOut = join(dir, "command");
    const r = await tune([
      "--cmd", `${JSON.stringify(process.execPath)} ${landscape} {a} {b} {fidelity} 50`,
      "--param", "a=1,2,4",
      "--param", "b=1,2,3",
      "--metric", "score: ([0-9.]+)",
      "--tuner", "grid",
      "--budget", "60s",
      "--out", cmdOut,
      "--json",
    ]);
    expect(r.exitCode).toBe(0);
    const { result } = JSON.parse(r.stdout) as { result: TuneResult };
    expect(result.ended).toBe("exhausted");
    expect(result.workload.kind).toBe("command");
    expect(result.baseline.config).toEqual({ a: 1, b: 1 });
    expect(result.best?.config).toEqual({ a: 4, b: 1 });
    expect(result.best?.measured?.mean).toBe(41);
    expect(result.best?.speedupMeasured).toBeCloseTo(41 / 11, 6);
    // Every configuration was tried, and the best was confirmed at full fidelity.
    expect(new Set(result.trials.map((t) => JSON.stringify(t.config))).size).toBe(9);
    expect(result.trials.some((t) => t.config.a === 4 && t.config.b === 1 && t.fidelity === 1)).toBe(true);
  });

  it("says in one line what is wrong with its flags", async () => {
    const r = await execa(process.execPath, [bin, "tune", "--budget", "soon"], { env, reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/budget "soon" is not a duration/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    const p = await execa(process.execPath, [bin, "tune", "--cmd", "echo {x}", "--budget", "5s"], { env, reject: false });
    expect(p.exitCode).toBe(2);
    expect(p.stderr).toMatch(/--param x=/);
  });
});
