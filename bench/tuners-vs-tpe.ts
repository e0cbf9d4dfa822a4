// Compares paratune's tuners with Optuna's TPE on the recorded landscapes and prints how the
// bayes tuner stands against the targets:
//   bayes needs at most 60% of the trials TPE needs to reach 95% of the best (median over seeds),
//   and at most 20% of the full grid.
// Runs `paratune replay --json` and bench/tpe_replay.py (Debian's python3-optuna) on the same
// files with the same seeds. Usage: bench/tuners-vs-tpe.sh [--seeds 20] [--seed 0] [--trials 30]
// [--objective decodeTps] [landscape.jsonl ...] (default: every fixtures/landscapes/*.jsonl).

import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seeds: { type: "string", default: "20" },
    seed: { type: "string", default: "0" },
    trials: { type: "string", default: "30" },
    objective: { type: "string", default: "decodeTps" },
    python: { type: "string", default: "/usr/bin/python3" },
    json: { type: "boolean", default: false },
  },
});

interface Q {
  q1: number | null;
  median: number | null;
  q3: number | null;
}
interface TunerStats {
  tuner: string;
  reach95: Q;
  reach99: Q;
  fractionAtN: Q;
  elapsedMs: number;
}

const dir = join(root, "fixtures", "landscapes");
const files = positionals.length > 0 ? positionals : readdirSync(dir).filter((f) => f.endsWith(".jsonl")).sort().map((f) => join(dir, f));
const fmt = (v: number | null) => (v === null ? "never" : Number.isInteger(v) ? String(v) : v.toFixed(1));
const q = (s: Q) => `${fmt(s.median)} [${fmt(s.q1)}-${fmt(s.q3)}]`;

const summary: unknown[] = [];
let allMet = true;
for (const file of files) {
  const metaFile = file.replace(/\.jsonl$/, ".meta.json");
  if (!existsSync(metaFile)) throw new Error(`${metaFile} is missing: it names the landscape's parameters`);
  const meta = JSON.parse(readFileSync(metaFile, "utf8")) as { grid: Record<string, unknown[]> };
  // Parameters that took one value in the recording carry no choice; leave them out.
  const params = Object.entries(meta.grid).filter(([, v]) => v.length > 1).map(([k]) => k).join(",");
  const common = ["--landscape", file, "--params", params, "--objective", args.objective!, "--trials", args.trials!, "--seeds", args.seeds!, "--seed", args.seed!, "--json"];
  const ours = JSON.parse(
    execFileSync(process.execPath, [join(root, "bin", "paratune.js"), "replay", ...common, "--tuner", "bayes,random,grid"], { encoding: "utf8", maxBuffer: 1 << 28 }),
  ) as { configurations: number; failed: number; tuners: TunerStats[] };
  const tpe = JSON.parse(
    execFileSync(args.python!, [join(root, "bench", "tpe_replay.py"), ...common], { encoding: "utf8", maxBuffer: 1 << 28 }),
  ) as TunerStats;
  const all = [...ours.tuners, tpe];
  const bayes = ours.tuners.find((t) => t.tuner === "bayes")!;
  const b95 = bayes.reach95.median ?? Infinity;
  const t95 = tpe.reach95.median ?? Infinity;
  const vsTpe = b95 / t95;
  const vsGrid = b95 / ours.configurations;
  const met = vsTpe <= 0.6 && vsGrid <= 0.2;
  allMet &&= met;
  summary.push({ landscape: file, configurations: ours.configurations, failed: ours.failed, tuners: all, bayesVsTpe: Number.isFinite(t95) ? vsTpe : null, bayesVsGrid: vsGrid, met });
  if (args.json) continue;
  console.log(`\n${file}: ${ours.configurations} configurations (${ours.failed} failed), params ${params}, ${args.seeds} seeds, N = ${args.trials}`);
  console.log(`  ${"tuner".padEnd(7)} ${"trials to 95%".padEnd(16)} ${"trials to 99%".padEnd(16)} ${"best after N (%)".padEnd(20)} time`);
  for (const t of all) {
    const pct: Q = {
      q1: t.fractionAtN.q1 === null ? null : t.fractionAtN.q1 * 100,
      median: t.fractionAtN.median === null ? null : t.fractionAtN.median * 100,
      q3: t.fractionAtN.q3 === null ? null : t.fractionAtN.q3 * 100,
    };
    console.log(`  ${t.tuner.padEnd(7)} ${q(t.reach95).padEnd(16)} ${q(t.reach99).padEnd(16)} ${q(pct).padEnd(20)} ${(t.elapsedMs / 1000).toFixed(1)}s`);
  }
  const ratio = Number.isFinite(t95) ? vsTpe.toFixed(2) : `${Number.isFinite(b95) ? "<" : "?"} (TPE's median never got there)`;
  console.log(`  bayes/tpe trials to 95%: ${ratio} (target <= 0.60)   bayes/full grid: ${vsGrid.toFixed(2)} (target <= 0.20)   ${met ? "MET" : "NOT MET"}`);
}
if (args.json) console.log(JSON.stringify(summary, null, 2));
else console.log(`\n${allMet ? "all targets met" : "some targets not met"}`);
