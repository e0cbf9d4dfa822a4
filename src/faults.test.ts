// The fault suite: bad input and faults a new user ran into, each checked on real processes and
// real files. One block per fault; bench/faults.ts prints the same faults' figures (seconds to
// stop, processes left, trials lost) for comparing run to run.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BayesTuner, RandomTuner } from "../tuners/index.js";
import { cpusBusy } from "../probes/cpu-use.js";
import { kernelFiles } from "../probes/sysfs.js";
import { readLimits } from "../probes/limits.js";
import { failureLine } from "./errors.js";
import { writeEnvFile } from "./outputs/env.js";
import { lookupStore, saveToStore, storeFile, storeHistory, storeKeyOf } from "./store.js";
import { parseParamSpec } from "./space.js";
import { readJournal } from "./tune/journal.js";
import { CommandWorkload } from "./workloads/command.js";
import { isAlive } from "./workloads/processes.js";
import { synthesize } from "./synth.js";
import type { SearchSpace, TuneResult } from "./types.js";

const bin = fileURLToPath(new URL("../bin/paratune.js", import.meta.url));
const xeon = fileURLToPath(new URL("../models/data/xeon16.hardware.json", import.meta.url));
const recorded = JSON.parse(readFileSync(fileURLToPath(new URL("../fixtures/results/hashwork-2core/result.json", import.meta.url)), "utf8")) as TuneResult;

let dir: string;
let env: Record<string, string>;
let model: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "paratune-faults-"));
  env = { PARATUNE_CACHE_DIR: join(dir, "cache"), PARATUNE_DATA_DIR: join(dir, "data") };
  model = (await synthesize({ shape: "tiny", quant: "q4_0", outDir: dir })).path;
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const paratune = (args: string[], options: { cwd?: string } = {}) => execa(process.execPath, [bin, ...args], { env, reject: false, all: true, cwd: options.cwd });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Lines printed that are not progress notes (paratune: ...) the test does not look at. */
const lastLines = (text: string) => text.trim().split("\n").slice(-2).join("\n");

/** Runs `fn` in this process with the suite's cache and data folders. */
async function withEnv<T>(fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Waits until the journal in `out` holds `n` trials, or `ms` pass. */
async function journalReaches(out: string, n: number, ms: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const count = existsSync(join(out, "trials.jsonl")) ? readJournal(join(out, "trials.jsonl")).records.length : 0;
    if (count >= n || Date.now() - t0 > ms) return count;
    await sleep(100);
  }
}

/**
 * A folder the file system refuses to write to: a read-only tmpfs where we may mount one (root
 * with CAP_SYS_ADMIN), else a chmod'ed folder (which root ignores, so then none).
 */
function unwritableDir(name: string): { path: string; kind: "read-only" | "permission"; release: () => void } | null {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  if (process.getuid?.() === 0) {
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", path]).status === 0;
    return mounted ? { path, kind: "read-only", release: () => spawnSync("umount", [path]) } : null;
  }
  spawnSync("chmod", ["555", path]);
  return { path, kind: "permission", release: () => spawnSync("chmod", ["755", path]) };
}

describe("fault 1: huge --param ranges are sampled, and the budget and signals win", () => {
  it("a tuner over 1..100000000 x 1..100000 asks in milliseconds, without listing the space", () => {
    const space: SearchSpace = { params: [parseParamSpec("t", "1..100000000"), parseParamSpec("u", "1..100000")], constraints: [] };
    for (const tuner of [new BayesTuner(space, { seed: 3 }), new RandomTuner(space, 3)]) {
      const t0 = performance.now();
      const asked = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const c = tuner.ask()!;
        asked.add(JSON.stringify(c));
        tuner.tell({ config: c, status: "ok", value: Number(c.t) / 1e8 - Math.abs(Number(c.u) - 500) / 1e5, fidelity: 1 });
      }
      expect(asked.size).toBe(12);
      expect(performance.now() - t0).toBeLessThan(5000);
    }
  });

  it("tune over 1..100000000 runs trials, and SIGTERM stops it with its trials kept and no process left", async () => {
    const out = join(dir, "huge");
    const child = execa(process.execPath, [bin, "tune", "--cmd", "sleep 0.2; echo {t} it/s", "--metric", "([0-9]+) it/s", "--param", "t=1..100000000", "--budget", "5m", "--out", out], { env, reject: false, all: true });
    expect(await journalReaches(out, 2, 90_000)).toBeGreaterThanOrEqual(2);
    child.kill("SIGTERM");
    const sent = Date.now();
    const r = await child;
    expect(Date.now() - sent).toBeLessThan(10_000);
    expect(r.exitCode).toBe(143);
    expect(existsSync(join(out, "report.md"))).toBe(true);
    expect(readJournal(join(out, "trials.jsonl")).records.length).toBeGreaterThanOrEqual(2);
    const result = JSON.parse(readFileSync(join(out, "result.json"), "utf8")) as TuneResult;
    expect(result.ended).toBe("interrupted");
    // Nothing the command started is left: no "sleep 0.2" of this run's trials.
    expect(spawnSync("pgrep", ["-f", "^sleep 0.2$"]).stdout.toString().trim()).toBe("");
  }, 150_000);
});

describe("fault 2: a background child holding stdout open neither stalls the trial nor sets its metric", () => {
  it("the metric and the wall time come from the command's own exit", async () => {
    const metric = new CommandWorkload({ command: "sleep 20 & echo 5 it/s", metric: "([0-9]+) it/s" });
    const t0 = Date.now();
    const m = await metric.run({}, { level: 1 });
    expect(m.status).toBe("ok");
    expect(m.metrics.value).toBe(5);
    expect(Date.now() - t0).toBeLessThan(5000);
    const wall = new CommandWorkload({ command: "sleep 20 & echo done", metric: "wall" });
    const w = await wall.run({}, { level: 1 });
    expect(w.status).toBe("ok");
    expect(w.metrics.wallMs).toBeLessThan(3000);
  }, 20_000);

  it("a child in a session of its own (setsid) is ended, and the timeout brings control back on time", async () => {
    const escaped = new CommandWorkload({ command: "(setsid sleep 97 & echo child $!); echo 5 it/s", metric: "([0-9]+) it/s", timeoutMs: 2000 });
    const t0 = Date.now();
    const m = await escaped.run({}, { level: 1 });
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(m.status).toBe("ok");
    const pid = Number(/child (\d+)/.exec(escaped.lastOutput)![1]);
    expect(isAlive(pid)).toBe(false);

    const hung = new CommandWorkload({ command: "setsid sleep 98 & echo child $!; sleep 30", metric: "wall", timeoutMs: 2000 });
    const t1 = Date.now();
    const h = await hung.run({}, { level: 1 });
    expect(Date.now() - t1).toBeLessThan(8000);
    expect(h.status).toBe("timeout");
    expect(isAlive(Number(/child (\d+)/.exec(hung.lastOutput)![1]))).toBe(false);
  }, 30_000);
});

describe("fault 3: tune with every trial failed exits non-zero, says why in one line, and writes no .env", () => {
  it("a missing program", async () => {
    const out = join(dir, "all-failed");
    const r = await paratune(["tune", "--cmd", "no_such_program_xyz {t}", "--param", "t=1,2", "--budget", "20s", "--out", out]);
    expect(r.exitCode).toBe(1);
    expect(lastLines(r.stderr)).toMatch(/all \d+ trials failed.*no \.env was written; most often \(\d+ of \d+\): command exited with code 127 \(command not found\)/);
    expect(existsSync(join(out, ".env"))).toBe(false);
    expect(readFileSync(join(out, "report.md"), "utf8")).toMatch(/command not found/);
  }, 90_000);

  it("recommend with every trial failed leaves the user's .env as it was and exits 1", async () => {
    const userEnv = join(dir, "user.env");
    writeFileSync(userEnv, "KEEP=1\n");
    const r = await paratune(["recommend", "--cmd", "no_such_program_xyz {t}", "--param", "t=1,2", "--budget", "20s", "--write-env", userEnv, "--out", join(dir, "all-failed-rec")]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`no trial succeeded, so ${userEnv} was left as it was`);
    expect(readFileSync(userEnv, "utf8")).toBe("KEEP=1\n");
  }, 90_000);
});

describe("fault 4: a damaged store is named, with what to do, and costs its answers only", () => {
  it("a file that is not JSON: look-ups say so and find nothing; a save sets it aside and starts afresh", async () => {
    const key = storeKeyOf(recorded);
    const path = storeFile(key, { dir: join(dir, "store-a") });
    mkdirSync(join(dir, "store-a"), { recursive: true });
    writeFileSync(path, "garbage{{{");
    const problems: string[] = [];
    const options = { dir: join(dir, "store-a"), onProblem: (p: string) => problems.push(p) };
    expect(lookupStore(key, options)).toBeNull();
    expect(problems[0]).toContain(path);
    expect(problems[0]).toMatch(/not valid JSON.*delete the file/);
    await saveToStore(recorded, key, options);
    expect(lookupStore(key, options)?.result.best?.config).toEqual(recorded.best?.config);
    expect(readFileSync(`${path}.corrupt`, "utf8")).toBe("garbage{{{");
  });

  it("an entry of the wrong shape is reported, and the good ones still answer", async () => {
    const key = storeKeyOf(recorded);
    const options = { dir: join(dir, "store-b") };
    await saveToStore(recorded, key, options);
    const path = storeFile(key, options);
    const file = JSON.parse(readFileSync(path, "utf8"));
    file.entries.push({ savedAt: "2030-01-01T00:00:00.000Z", key, result: { best: 5 } });
    writeFileSync(path, JSON.stringify(file));
    const problems: string[] = [];
    expect(storeHistory(key, { ...options, onProblem: (p) => problems.push(p) })).toHaveLength(1);
    expect(problems).toEqual([expect.stringMatching(/has an entry \(2 of 2\) that is not a tuning result \(result\.\w+/)]);
    expect(problems[0]).toContain(path);
  });

  it("recommend names the damaged file and still answers (here by predicting)", async () => {
    // The store key of this machine and model, as recommend computes it.
    const storeDir = join(env.PARATUNE_DATA_DIR, "store");
    const { recommend } = await import("./recommend.js");
    const key = (await withEnv(() => recommend({ models: [model], budgetMs: 0 }))).storeKey;
    const path = storeFile(key, { dir: storeDir });
    writeFileSync(path, "garbage{{{");
    const r = await paratune(["recommend", "--model", model, "--budget", "0"]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain(`the store file ${path} is not valid JSON`);
    expect(r.stdout).toMatch(/^PARALLEL_WORKERS=\d+$/m);
  }, 90_000);
});

describe("fault 5: bad values are refused in one line with exit code 2", () => {
  it("threads beyond sensible, a zero timeout, a range that is not one, a bad variable name, a 20-byte .gguf", async () => {
    const tiny = join(dir, "tiny.gguf");
    // The magic and version 3 of a real header, then nothing: 20 bytes.
    writeFileSync(tiny, Buffer.concat([Buffer.from("GGUF"), Buffer.from([3, 0, 0, 0]), Buffer.alloc(12)]));
    const cases: [string[], RegExp][] = [
      [["bench", "--model", model, "--threads", "999"], /999 threads is more than 4 per usable CPU/],
      [["predict", "--model", model, "--hardware", xeon, "--threads", "999"], /999 threads is more than 4 per usable CPU \(16 here\)/],
      [["bench", "--cmd", "echo hi", "--timeout", "0"], /--timeout "0" must be longer than zero/],
      [["tune", "--cmd", "echo {t}", "--param", "t=1..x", "--out", join(dir, "never")], /parameter t: "1\.\.x" is not a range of whole numbers/],
      [["bench", "--cmd", "echo hi", "--env", "1BAD-NAME=3"], /environment variable name "1BAD-NAME" is not valid/],
      [["bench", "--model", tiny], /tiny\.gguf is not a complete GGUF model \(20 bytes/],
      [["predict", "--model", tiny, "--hardware", xeon], /tiny\.gguf is not a complete GGUF model \(20 bytes/],
    ];
    for (const [args, message] of cases) {
      const r = await paratune(args);
      expect(r.exitCode, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(message);
      expect(r.stderr, args.join(" ")).not.toMatch(/\n\s+at /);
    }
    // Refused before the probe: no run folder was started.
    expect(existsSync(join(dir, "never"))).toBe(false);
  }, 120_000);
});

describe("fault 6: .env writes the file system refuses are one line; our stale temp files are removed", () => {
  it("--write-env on an unwritable folder or at a directory, and recommend --out on one", async (ctx) => {
    const atDir = await paratune(["recommend", "--model", model, "--budget", "0", "--write-env", dir]);
    expect(atDir.exitCode).toBe(2);
    expect(atDir.stderr).toMatch(new RegExp(`cannot write the \\.env ${dir}: it is a directory`));
    const locked = unwritableDir("locked");
    if (!locked) return ctx.skip();
    try {
      const reason = locked.kind === "read-only" ? /the file system is read-only/ : /permission denied/;
      const env = await paratune(["recommend", "--model", model, "--budget", "0", "--write-env", join(locked.path, "app.env")]);
      expect(env.exitCode).toBe(2);
      expect(env.stderr).toMatch(reason);
      expect(env.stderr).not.toMatch(/EROFS|EACCES/);
      const out = await paratune(["recommend", "--model", model, "--budget", "5s", "--fresh", "--out", join(locked.path, "run", "deep")]);
      expect(out.exitCode).toBe(2);
      expect(out.stderr).toMatch(/cannot write the output folder .*locked\/run/);
      expect(out.stderr).toMatch(reason);
      expect(out.stderr).not.toMatch(/ENOENT/);
    } finally {
      locked.release();
    }
  }, 120_000);

  it("a temp file left by a writer killed with -9 is removed by the next write; a live writer's is not", async () => {
    const folder = join(dir, "temps");
    mkdirSync(folder, { recursive: true });
    const target = join(folder, "project.env");
    // A real writer killed mid-way: its pid is free once it has exited.
    const dead = spawnSync(process.execPath, ["-e", "process.kill(process.pid, 'SIGKILL')"]);
    expect(dead.signal).toBe("SIGKILL");
    const deadPid = dead.pid!;
    const stale = `project.env.paratune-tmp-${deadPid}-0badcafe`;
    const live = `project.env.paratune-tmp-${process.pid}-00c0ffee`;
    writeFileSync(join(folder, stale), "X".repeat(1 << 20));
    writeFileSync(join(folder, live), "half");
    // A user's own backup that looks like write-file-atomic's temporary names stays too.
    writeFileSync(join(folder, "project.env.1764680000"), "A=1\n");
    await writeEnvFile(target, { header: ["test"], entries: [{ name: "PARALLEL_WORKERS", value: "2", comment: "test" }] });
    expect(readdirSync(folder).sort()).toEqual(["project.env", "project.env.1764680000", live].sort());
  });
});

describe("fault 7 and 8: a run killed with -9 is reported from study.json and trials.jsonl, failures cause first", () => {
  it("report rebuilds the killed run; the failed trial's reason leads with the signal", async () => {
    const out = join(dir, "killed");
    const cmd = "if [ {t} = 2 ]; then echo about to fail; kill -SEGV $$; fi; sleep 0.2; echo {t} it/s";
    const child = spawn(process.execPath, [bin, "tune", "--cmd", cmd, "--metric", "([0-9]+) it/s", "--param", "t=1,2,3,4", "--tuner", "grid", "--reps", "1", "--budget", "5m", "--out", out], { env: { ...process.env, ...env }, stdio: "ignore" });
    const exited = new Promise((resolve) => child.on("exit", resolve));
    expect(await journalReaches(out, 3, 90_000)).toBeGreaterThanOrEqual(3);
    child.kill("SIGKILL");
    await exited;
    expect(existsSync(join(out, "result.json"))).toBe(false);
    const journaled = readJournal(join(out, "trials.jsonl")).records.length;
    const r = await paratune(["report", out]);
    expect(r.exitCode, r.all).toBe(0);
    const report = readFileSync(join(out, "report.md"), "utf8");
    expect(report).toMatch(/command (was killed by SIGSEGV|exited with code 139 \(SIGSEGV\)): about to fail/);
    const rec = JSON.parse(readFileSync(join(out, "recommendation.json"), "utf8"));
    expect(rec.result.ended).toBe("interrupted");
    expect(readJournal(join(out, "trials.jsonl")).records.length).toBe(journaled);
  }, 150_000);

  it("the one-line reason puts the cause before the output's last line", () => {
    expect(failureLine("command exited with code 3\nloading\nerror: out of widgets")).toBe("command exited with code 3: error: out of widgets");
    expect(failureLine("command was killed by SIGSEGV")).toBe("command was killed by SIGSEGV");
  });
});

describe("fault 9: the busy-machine warning follows what the CPUs are doing now", () => {
  it("CPUs kept busy by other processes read as busy; a cached busy curve's warning quotes now, not then", async () => {
    const limits = readLimits(kernelFiles("/"));
    const n = Math.max(1, limits.allowedCpus.length);
    const spinners = Array.from({ length: n }, () => spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" }));
    try {
      await sleep(300);
      const busy = await cpusBusy(kernelFiles("/"), limits.allowedCpus, 500);
      expect(busy).not.toBeNull();
      expect(busy! / n).toBeGreaterThan(0.75);
      // The old cache format, with the host's load average at a spike.
      const { probe } = await import("../probes/index.js");
      const { bandwidthCachePath } = await import("../probes/bandwidth-cache.js");
      await withEnv(async () => {
        const fp = (await probe()).fingerprint;
        const path = bandwidthCachePath(fp);
        mkdirSync(join(path, ".."), { recursive: true });
        const curve = { curve: [{ threads: 1, gbps: 10 }], singleGbps: 10, peakGbps: 10, method: "test" };
        writeFileSync(path, JSON.stringify({ version: 1, fingerprint: fp, measuredAt: new Date().toISOString(), loadPerCpu: 153.52, busy: true, bandwidth: curve }));
        const p = await probe({ bandwidth: true, bandwidthReps: 1 });
        expect(p.warnings.join("\n")).not.toContain("153");
        expect(p.warnings).toEqual([expect.stringMatching(/still is \(other work kept \d+% of the usable CPUs busy\)/)]);
      });
    } finally {
      for (const s of spinners) s.kill("SIGKILL");
    }
  }, 60_000);
});
