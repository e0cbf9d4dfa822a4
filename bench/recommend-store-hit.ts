// How fast `paratune recommend` answers from the store: the target is under 1 s for the whole
// process on the 2-core VM, no trial. Seeds an empty store (a temporary PARATUNE_DATA_DIR) with
// a recorded tuning result re-keyed to this machine's fingerprint and the synthetic tiny model,
// then asks the same question N times in fresh processes, and prints per answer:
//   process ms      the whole `paratune recommend --shape tiny --quant q4_0 --budget 0` (what a user waits)
//   --version ms    `paratune --version`: Node's start and the CLI's entry, the floor under the above
// and, from N more fresh processes, where recommend()'s time goes: loading recommend.js, the
// probe without bandwidth (the fingerprint), and the rest (model identity, store read, .env).
//
//   node dist/bench/recommend-store-hit.js [--answers 5]
//
// The store is seeded without a tuning run so that the number does not depend on one
// succeeding on a busy machine; a hit reads the same file either way.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = join(ROOT, "bin/paratune.js");
const ARGS = ["recommend", "--shape", "tiny", "--quant", "q4_0", "--budget", "0", "--json"];

/** One child: times its own phases of a store hit and prints them as JSON. */
async function phases(): Promise<void> {
  const t0 = performance.now();
  const { recommend } = await import("../src/recommend.js");
  const t1 = performance.now();
  const { probe } = await import("../probes/index.js");
  await probe({ bandwidth: false, cacheSizes: false });
  const t2 = performance.now();
  const answer = await recommend({ shape: "tiny", quants: ["q4_0"], budgetMs: 0 });
  const t3 = performance.now();
  process.stdout.write(JSON.stringify({ source: answer.recommendation.source, importMs: t1 - t0, probeMs: t2 - t1, recommendMs: t3 - t2 }));
}

/** Saves the recorded llama run under this machine's key for the tiny q4_0 question. */
async function seed(): Promise<void> {
  const { probe } = await import("../probes/index.js");
  const { synthesize } = await import("../src/synth.js");
  const { readModelInfo } = await import("../src/model-info.js");
  const { saveToStore } = await import("../src/store.js");
  const { DEFAULT_GEN_TOKENS, DEFAULT_PROMPT_TOKENS } = await import("../src/recommend.js");
  const hardware = await probe({ bandwidth: false });
  const info = await readModelInfo((await synthesize({ shape: "tiny", quant: "q4_0" })).path);
  const result = JSON.parse(readFileSync(join(ROOT, "fixtures/results/llama-tiny-2core/result.json"), "utf8"));
  result.hardware = { ...result.hardware, fingerprint: hardware.fingerprint };
  result.workload = { ...result.workload, models: [info], settings: { ...result.workload.settings, promptTokens: DEFAULT_PROMPT_TOKENS, genTokens: DEFAULT_GEN_TOKENS, threadPoolSize: 1 } };
  await saveToStore(result);
}

function timed(args: string[], env: NodeJS.ProcessEnv): { ms: number; out: string } {
  const t0 = performance.now();
  const out = execFileSync(process.execPath, args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return { ms: performance.now() - t0, out };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const round = (x: number) => String(Math.round(x));

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { answers: { type: "string", default: "5" }, phases: { type: "boolean" }, seed: { type: "boolean" } } });
  if (values.phases) return phases();
  if (values.seed) return seed();
  const n = Math.max(1, Number(values.answers));
  const work = mkdtempSync(join(tmpdir(), "paratune-store-hit-"));
  const env = { ...process.env, PARATUNE_DATA_DIR: join(work, "data") };
  const self = fileURLToPath(import.meta.url);
  try {
    execFileSync(process.execPath, [self, "--seed"], { env, stdio: "inherit" });
    // One untimed answer: it fills the model-info cache, as any earlier use on the machine would.
    timed([BIN, ...ARGS], env);
    process.stdout.write(`machine: ${availableParallelism()} CPUs, load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}\n`);
    const rows = [["answer", "source", "process ms", "--version ms"]];
    const procs: number[] = [];
    for (let i = 1; i <= n; i++) {
      const hit = timed([BIN, ...ARGS], env);
      const version = timed([BIN, "--version"], env);
      procs.push(hit.ms);
      rows.push([String(i), JSON.parse(hit.out).source, round(hit.ms), round(version.ms)]);
    }
    printRows(rows);
    const parts = [["answer", "source", "import recommend.js ms", "probe ms", "recommend() ms (its own probe included)"]];
    for (let i = 1; i <= n; i++) {
      const p = JSON.parse(timed([self, "--phases"], env).out);
      parts.push([String(i), p.source, round(p.importMs), round(p.probeMs), round(p.recommendMs)]);
    }
    printRows(parts);
    process.stdout.write(`median process ms: ${round(median(procs))} (target under 1000); load average after ${loadavg().map((x) => x.toFixed(2)).join(" ")}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function printRows(rows: string[][]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) process.stdout.write(`${r.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd()}\n`);
}

await main();
