// Records a landscape for `paratune replay`: runs every configuration of a grid for real, one
// after another, and writes one JSON line per configuration (parameter fields, metric fields and
// "ok") plus a provenance sidecar <out>.meta.json. Compiled to dist/bench/record-landscape.js so
// that it runs with nothing but `node` and dist/ (see bench/record-landscape.sh).
//
// Two ways to measure a configuration:
// - runner "batched-bench": llama.cpp's llama-batched-bench. `workers` copies run at the same time
//   (separate processes, each with its own model), each with `threads` threads and `sequences`
//   parallel sequences; the metrics are the sums over the copies. Real data without paratune's
//   own workload code.
// - runner "paratune": `node bin/paratune.js bench --json` with the configuration's flags; the
//   metrics are whatever the bench command reports.
//
// A time limit stops the grid early and keeps what was recorded (the sidecar says so), so a
// large grid on a borrowed machine cannot overrun its lease.

import { spawn } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, hostname, loadavg, totalmem } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

interface RunResult {
  ok: boolean;
  metrics: Record<string, number>;
  error?: string;
}

const { values: args } = parseArgs({
  options: {
    runner: { type: "string", default: "batched-bench" },
    bin: { type: "string", default: "/work/llama.cpp/build/bin/llama-batched-bench" },
    model: { type: "string", multiple: true, default: [] }, // quant=path, repeatable
    workers: { type: "string", default: "1,2" },
    threads: { type: "string", default: "1,2" },
    sequences: { type: "string", default: "1,2,4,8" },
    batch: { type: "string", default: "512" },
    npp: { type: "string", default: "64" },
    ntg: { type: "string", default: "32" },
    "bench-args": { type: "string", default: "" }, // extra flags for `paratune bench`
    "time-limit": { type: "string", default: "3600" }, // seconds
    "trial-timeout": { type: "string", default: "120" },
    out: { type: "string" },
    note: { type: "string", default: "" },
    order: { type: "string", default: "random" }, // random | grid
    "max-cores": { type: "string" }, // skip configurations with workers x threads above this
    resume: { type: "boolean", default: false }, // keep --out's lines and run only the missing configurations
  },
});

function list(text: string): number[] {
  return text.split(",").map((s) => Number(s.trim())).filter((n) => Number.isFinite(n) && n > 0);
}

function fail(message: string): never {
  process.stderr.write(`record-landscape: ${message}\n`);
  process.exit(2);
}

const models = new Map<string, string>();
for (const m of args.model ?? []) {
  const eq = m.indexOf("=");
  if (eq <= 0) fail(`--model ${m}: write it as QUANT=PATH, e.g. q4_0=/tmp/tiny-q4_0.gguf`);
  const path = m.slice(eq + 1);
  if (!existsSync(path)) fail(`--model ${m}: no such file`);
  models.set(m.slice(0, eq), path);
}
if (models.size === 0) fail("give at least one --model QUANT=PATH");
if (!args.out) fail("give --out FILE.jsonl");
if (args.runner === "batched-bench" && !existsSync(args.bin!)) fail(`--bin ${args.bin}: llama-batched-bench not found`);
if (args.runner !== "batched-bench" && args.runner !== "paratune") fail(`--runner must be batched-bench or paratune`);

const grid = {
  workers: list(args.workers!),
  threads: list(args.threads!),
  sequences: list(args.sequences!),
  batch: list(args.batch!),
  quant: [...models.keys()],
};
const npp = Number(args.npp);
const ntg = Number(args.ntg);
const timeLimitMs = Number(args["time-limit"]) * 1000;
const trialTimeoutMs = Number(args["trial-timeout"]) * 1000;
let lostOutputRetries = 0;

function runProcess(cmd: string, argv: string[], timeoutMs: number): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: -1, out, err: String(e) });
    });
  });
}

async function runBatchedBench(c: Record<string, number | string>): Promise<RunResult> {
  const sequences = Number(c.sequences);
  const batch = Number(c.batch);
  const ctx = sequences * (npp + ntg) + 16;
  const argv = [
    "-m", models.get(String(c.quant))!,
    "-t", String(c.threads), "-tb", String(c.threads),
    "-npl", String(sequences), "-npp", String(npp), "-ntg", String(ntg),
    "-c", String(ctx), "-b", String(batch), "-ub", String(batch),
    "--output-format", "jsonl",
  ];
  // llama.cpp's asynchronous logger sometimes loses all of a short run's output at exit (exit
  // code 0, nothing printed; seen with llama-batched-bench built from master in November 2026).
  // Such a run measured nothing we can read, so the whole configuration (all copies together,
  // since they compete for the cores) is run again.
  let started = Date.now();
  let runs = await Promise.all(Array.from({ length: Number(c.workers) }, () => runProcess(args.bin!, argv, trialTimeoutMs)));
  for (let attempt = 1; attempt < 8 && runs.some((r) => r.code === 0 && !r.out.includes("speed_tg")); attempt++) {
    lostOutputRetries++;
    started = Date.now();
    runs = await Promise.all(Array.from({ length: Number(c.workers) }, () => runProcess(args.bin!, argv, trialTimeoutMs)));
  }
  const wallS = (Date.now() - started) / 1000;
  let decodeTps = 0;
  let prefillTps = 0;
  let totalTps = 0;
  for (const r of runs) {
    const line = (r.out + "\n" + r.err).split("\n").find((l) => l.startsWith("{") && l.includes("speed_tg"));
    if (r.code !== 0 || !line) {
      const why = r.code === null ? `killed after the ${trialTimeoutMs / 1000}s trial timeout` : `exit code ${r.code}, no result line`;
      return { ok: false, metrics: { wallS }, error: why };
    }
    const j = JSON.parse(line) as Record<string, number>;
    decodeTps += j.speed_tg;
    prefillTps += j.speed_pp;
    totalTps += j.speed;
  }
  const round = (v: number) => Math.round(v * 100) / 100;
  return { ok: true, metrics: { decodeTps: round(decodeTps), prefillTps: round(prefillTps), totalTps: round(totalTps), wallS: round(wallS) } };
}

async function runParatuneBench(c: Record<string, number | string>): Promise<RunResult> {
  const bin = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "paratune.js");
  const argv = [
    bin, "bench", "--model", models.get(String(c.quant))!,
    "--workers", String(c.workers), "--threads", String(c.threads), "--sequences", String(c.sequences), "--batch", String(c.batch),
    ...(args["bench-args"] ? args["bench-args"].split(/\s+/).filter(Boolean) : []),
    "--json",
  ];
  const r = await runProcess(process.execPath, argv, trialTimeoutMs);
  // `paratune bench --json` prints {workload, config, objective, measurement} and exits 1 when the
  // trial did not succeed; anything else (a crash, our timeout) has no JSON to read.
  try {
    const j = JSON.parse(r.out) as { measurement: { status: string; metrics: Record<string, unknown>; rme?: number; error?: string } };
    const m = j.measurement;
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(m.metrics ?? {})) if (typeof v === "number") metrics[k] = v;
    if (typeof m.rme === "number" && Number.isFinite(m.rme)) metrics.rme = m.rme;
    return { ok: m.status === "ok", metrics, error: m.status === "ok" ? undefined : `${m.status}: ${(m.error ?? "").split("\n")[0]}` };
  } catch {
    // A crash prints a stack and ends with the Node.js version; the line naming the error says more.
    const lines = (r.err || r.out).trim().split("\n");
    const why = r.code === null ? `killed after the ${trialTimeoutMs / 1000}s trial timeout` : (lines.find((l) => /Error\b/.test(l)) ?? lines.pop())?.trim();
    return { ok: false, metrics: {}, error: why };
  }
}

async function main(): Promise<void> {
  const out = args.out!;
  const configs: Record<string, number | string>[] = [];
  for (const quant of grid.quant)
    for (const workers of grid.workers)
      for (const threads of grid.threads)
        for (const sequences of grid.sequences) for (const batch of grid.batch) configs.push({ workers, threads, sequences, batch, quant });
  // Random order (seeded): slow drift of the machine (other load, heat) then does not line up
  // with one parameter, and a grid cut short by the time limit is a random sample of the space
  // rather than its first slice.
  if (args.order === "random") {
    let a = 12345;
    const rng = () => ((a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 4294967296);
    for (let i = configs.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [configs[i], configs[j]] = [configs[j], configs[i]];
    }
  }
  const maxCores = args["max-cores"] ? Number(args["max-cores"]) : Infinity;
  if (!(maxCores > 0)) fail(`--max-cores ${args["max-cores"]}: give a positive number`);
  const key = (c: Record<string, unknown>) => ["workers", "threads", "sequences", "batch", "quant"].map((k) => String(c[k])).join("/");
  const done = new Set<string>();
  if (args.resume && existsSync(out)) {
    for (const line of readFileSync(out, "utf8").split("\n")) if (line.trim()) done.add(key(JSON.parse(line) as Record<string, unknown>));
  } else writeFileSync(out, "");
  const planned = configs.length;
  for (let i = configs.length - 1; i >= 0; i--) {
    const c = configs[i];
    if (Number(c.workers) * Number(c.threads) > maxCores || done.has(key(c))) configs.splice(i, 1);
  }
  if (planned !== configs.length) process.stderr.write(`${planned - configs.length} configurations skipped (over --max-cores or already in ${out})\n`);
  const started = Date.now();
  const loadBefore = loadavg()[0];
  let recorded = 0;
  let failed = 0;
  for (const c of configs) {
    if (Date.now() - started > timeLimitMs) break;
    const r = args.runner === "batched-bench" ? await runBatchedBench(c) : await runParatuneBench(c);
    appendFileSync(out, JSON.stringify({ ...c, ...r.metrics, ok: r.ok ? 1 : 0, ...(r.error ? { error: r.error } : {}) }) + "\n");
    recorded++;
    if (!r.ok) failed++;
    const eta = ((Date.now() - started) / recorded) * (configs.length - recorded);
    process.stderr.write(`\r${recorded}/${configs.length} configs, ${failed} failed, ETA ${Math.round(eta / 1000)}s   `);
  }
  process.stderr.write("\n");
  const meta = {
    name: basename(out, ".jsonl"),
    recordedAt: new Date(started).toISOString(),
    durationS: Math.round((Date.now() - started) / 1000),
    complete: recorded === configs.length,
    configurations: done.size + recorded,
    planned: done.size + configs.length,
    ...(args.resume ? { resumedWith: done.size } : {}),
    ...(Number.isFinite(maxCores) ? { maxCores } : {}),
    failed,
    lostOutputRetries,
    machine: {
      hostname: hostname(),
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      memoryBytes: totalmem(),
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadavg()[0],
    },
    runner: args.runner,
    command:
      args.runner === "batched-bench"
        ? `${args.bin} -m MODEL -t THREADS -tb THREADS -npl SEQUENCES -npp ${npp} -ntg ${ntg} -c SEQUENCES*(${npp}+${ntg})+16 -b BATCH -ub BATCH --output-format jsonl, WORKERS copies at once, metrics summed`
        : `node bin/paratune.js bench --model MODEL --workers W --threads T --sequences S --batch B ${args["bench-args"]} --json`,
    models: Object.fromEntries([...models].map(([q, path]) => [q, { path, bytes: statSync(path).size }])),
    grid,
    settings: { npp, ntg },
    order: args.order,
    note: args.note,
  };
  writeFileSync(out.replace(/\.jsonl$/, "") + ".meta.json", JSON.stringify(meta, null, 2) + "\n");
  process.stderr.write(`wrote ${recorded} configurations to ${out}\n`);
}

await main();
