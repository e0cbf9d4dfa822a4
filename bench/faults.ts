// Fault figures, to compare run to run: how long paratune takes to stop, how many processes it
// leaves, and how many trials it loses, under the faults of src/faults.test.ts. Real runs of
// bin/paratune.js on a command workload; nothing here is simulated. Usage (after npx tsc -p .):
//   bench/faults.sh [--kills 10]
// Prints one table; every figure is measured once per run (the kill -9 rows count over --kills).
// The machine's load is printed with it, because seconds-to-stop grow with it.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readJournal } from "../src/tune/journal.js";
import { CommandWorkload } from "../src/workloads/command.js";
import { isAlive, processesWithEnv } from "../src/workloads/processes.js";

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..");
const bin = join(root, "bin", "paratune.js");
const envModule = join(root, "dist", "src", "outputs", "env.js");
const { values: args } = parseArgs({ options: { kills: { type: "string", default: "10" } } });
const kills = Math.max(1, Number(args.kills));

const work = mkdtempSync(join(tmpdir(), "paratune-faults-bench-"));
// The runs share a cache (one bandwidth measurement) and a store, apart from the user's.
const baseEnv = { ...process.env, PARATUNE_CACHE_DIR: join(work, "cache"), PARATUNE_DATA_DIR: join(work, "data") };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rows: string[][] = [];
const row = (fault: string, figure: string, value: string) => rows.push([fault, figure, value]);

/** A paratune child whose every descendant carries FAULTS_BENCH=<tag> in its environment. */
function paratune(tag: string, argv: string[]): { child: ChildProcess; exited: Promise<{ code: number | null; at: number }> } {
  const child = spawn(process.execPath, [bin, ...argv], { env: { ...baseEnv, FAULTS_BENCH: tag }, stdio: "ignore" });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on("exit", (code, signal) => resolve({ code: code ?? (signal ? -1 : null), at: Date.now() })));
  return { child, exited };
}

const left = (tag: string) => processesWithEnv("FAULTS_BENCH", tag).length;
const journalCount = (out: string) => (existsSync(join(out, "trials.jsonl")) ? readJournal(join(out, "trials.jsonl")).records.length : 0);

async function journalReaches(out: string, n: number, ms = 120_000): Promise<number> {
  const t0 = Date.now();
  while (journalCount(out) < n && Date.now() - t0 < ms) await sleep(50);
  return journalCount(out);
}

const trialCmd = ["--cmd", "sleep 0.3; echo {t} it/s", "--metric", "([0-9]+) it/s", "--param", "t=1..100000000"];

async function hugeRangeBudget(): Promise<void> {
  const out = join(work, "budget");
  const t0 = Date.now();
  const { exited } = paratune("budget", ["tune", ...trialCmd, "--budget", "10s", "--out", out]);
  const { code, at } = await exited;
  row("1: --param t=1..100000000, --budget 10s", "seconds to finish (exit code)", `${((at - t0) / 1000).toFixed(1)} (${code})`);
  row("", "trials", String(journalCount(out)));
  row("", "processes left", String(left("budget")));
}

async function signalMidRun(signal: NodeJS.Signals): Promise<void> {
  const out = join(work, signal);
  const { child, exited } = paratune(signal, ["tune", ...trialCmd, "--budget", "5m", "--out", out]);
  await journalReaches(out, 3);
  await sleep(150); // into the next trial
  const before = journalCount(out);
  const sent = Date.now();
  child.kill(signal);
  const { code, at } = await exited;
  const after = journalCount(out);
  const result = existsSync(join(out, "result.json")) ? (JSON.parse(readFileSync(join(out, "result.json"), "utf8")) as { trials: unknown[] }) : null;
  row(`1: ${signal} during a trial`, "seconds to stop (exit code)", `${((at - sent) / 1000).toFixed(2)} (${code})`);
  row("", "processes left", String(left(signal)));
  row("", "trials lost (journal before -> after; in result.json)", `${Math.max(0, before - after)} (${before} -> ${after}; ${result?.trials.length ?? "no result.json"})`);
}

async function backgroundChild(): Promise<void> {
  const w = new CommandWorkload({ command: "sleep 20 & echo 5 it/s", metric: "wall" });
  const t0 = Date.now();
  const m = await w.run({}, { level: 1 });
  row("2: 'sleep 20 & echo 5 it/s'", "seconds for the trial (metric wallMs)", `${((Date.now() - t0) / 1000).toFixed(2)} (${m.metrics.wallMs?.toFixed(0)})`);
  const escaped = new CommandWorkload({ command: "(setsid sleep 997 & echo child $!); sleep 30", metric: "wall", timeoutMs: 2000 });
  const t1 = Date.now();
  const e = await escaped.run({}, { level: 1 });
  const pid = Number(/child (\d+)/.exec(escaped.lastOutput)?.[1]);
  row("2: setsid child, trial timeout 2s", `seconds to return (${e.status})`, ((Date.now() - t1) / 1000).toFixed(2));
  row("", "processes left", String(Number.isFinite(pid) && isAlive(pid) ? 1 : 0));
}

async function killedRun(): Promise<void> {
  const out = join(work, "killed");
  const { child, exited } = paratune("killed", ["tune", ...trialCmd, "--budget", "5m", "--out", out]);
  await journalReaches(out, 3);
  await sleep(150);
  child.kill("SIGKILL");
  await exited;
  // A process killed with -9 cleans nothing up: the trial it was running is orphaned.
  row("7: tune killed with -9 during a trial", "processes left (orphaned trial)", String(left("killed")));
  for (const pid of processesWithEnv("FAULTS_BENCH", "killed")) spawnSync("kill", ["-9", String(pid)]);
  const journaled = journalCount(out);
  const r = spawnSync(process.execPath, [bin, "report", out, "--json"], { env: baseEnv, encoding: "utf8" });
  const rebuilt = r.status === 0 ? (JSON.parse(readFileSync(join(out, "recommendation.json"), "utf8")) as { result: { trials?: unknown } }) : null;
  row("", "report rebuilt (exit code)", `${r.status === 0 ? "yes" : "no"} (${r.status})`);
  row("", "trials lost (journal vs report)", rebuilt ? String(journaled - journalCount(out)) : "-");
}

async function killedEnvWrites(): Promise<void> {
  const dir = join(work, "envwrite");
  mkdirSync(dir, { recursive: true });
  const target = join(dir, "project.env");
  // About 25 MB of the user's own keys, so that a write takes long enough to be interrupted.
  writeFileSync(target, Array.from({ length: 200_000 }, (_, i) => `USER_KEY_${i}=${"v".repeat(110)}`).join("\n") + "\n");
  const block = { header: ["bench"], entries: [{ name: "PARALLEL_WORKERS", value: "2", comment: "bench" }] };
  const script = `import { writeEnvFile } from ${JSON.stringify(envModule)}; await writeEnvFile(process.argv[1], ${JSON.stringify(block)});`;
  let interrupted = 0;
  for (let i = 0; i < kills; i++) {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script, target], { stdio: "ignore" });
    const exited = new Promise((r) => child.on("exit", r));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && child.exitCode === null) {
      if (readdirSync(dir).some((f) => f !== "project.env")) {
        child.kill("SIGKILL");
        interrupted++;
        break;
      }
      await new Promise((r) => setImmediate(r));
    }
    await exited;
  }
  const temps = () => readdirSync(dir).filter((f) => f !== "project.env").length;
  const afterKills = temps();
  const { writeEnvFile } = (await import(envModule)) as typeof import("../src/outputs/env.js");
  await writeEnvFile(target, block);
  row(`6: --write-env of 25 MB killed -9 mid-write (${kills} tries)`, "writes interrupted", String(interrupted));
  row("", "temp files left after the kills -> after the next write", `${afterKills} -> ${temps()}`);
}

function table(r: string[][]): string {
  const widths = r[0].map((_, i) => Math.max(...r.map((x) => x[i].length)));
  return r.map((x) => x.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

try {
  // The signal runs first: the first run measures the bandwidth curve, which the budget would pay.
  await signalMidRun("SIGTERM");
  await signalMidRun("SIGINT");
  await hugeRangeBudget();
  await backgroundChild();
  await killedRun();
  await killedEnvWrites();
  console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")} (at the end)`);
  console.log(table([["fault", "figure", "value"], ...rows]));
} finally {
  rmSync(work, { recursive: true, force: true });
}
