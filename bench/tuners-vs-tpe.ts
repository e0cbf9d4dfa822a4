// Compares paratune's tuners with Optuna's TPE on the recorded landscapes and prints how the
// bayes tuner stands against the issue's targets:
//   bayes needs at most 60% of the trials TPE needs to reach 95% of the best (median over seeds),
//   and at most 20% of the full grid.
// Runs `paratune replay --json` and bench/tpe_replay.py (Debian's python3-optuna) on the same
// files with the same seeds. Usage: bench/tuners-vs-tpe.sh [--seeds 20] [--seed 0] [--trials 30]
// [--objective decodeTps] [--no-prior] [--no-tpe] [landscape.jsonl ...] (default: every
// fixtures/landscapes/*.jsonl).
//
// bayes runs as `paratune tune` runs it: with the roofline prior mean when the landscape's
// .meta.json sidecar has the hardware profile and model info (`replay` says whether it had one);
// the row "bayes-np" is the same tuner with --no-prior. The targets are judged on "bayes".
// --no-prior judges bayes without the prior; --no-tpe skips Optuna (the slow part).

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
    "no-prior": { type: "boolean", default: false },
    "no-tpe": { type: "boolean", default: false },
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
  const meta = JSON.parse(readFileSync(metaFile, "utf8")) as { params?: string[]; grid?: Record<string, unknown[]> };
  // The sidecar's parameter list, else the grid's parameters that took more than one value in the
  // recording (one value carries no choice).
  const params = (meta.params ?? Object.entries(meta.grid ?? {}).filter(([, v]) => v.length > 1).map(([k]) => k)).join(",");
  if (params === "") throw new Error(`${metaFile} names neither "params" nor a "grid"`);
  const common = ["--landscape", file, "--params", params, "--objective", args.objective!, "--trials", args.trials!, "--seeds", args.seeds!, "--seed", args.seed!, "--json"];
  const replay = (extra: string[]) =>
    JSON.parse(execFileSync(process.execPath, [join(root, "bin", "paratune.js"), "replay", ...common, ...extra], { encoding: "utf8", maxBuffer: 1 << 28 })) as {
      configurations: number;
      failed: number;
      prior: { used: boolean; detail: string };
      tuners: TunerStats[];
    };
  const ours = replay(["--tuner", "bayes,random,grid", ...(args["no-prior"] ? ["--no-prior"] : [])]);
  // The same bayes without the prior, for comparison, when the prior was used above.
  const plain = ours.prior.used ? replay(["--tuner", "bayes", "--no-prior"]).tuners.map((t) => ({ ...t, tuner: "bayes-np" })) : [];
  const tpe = args["no-tpe"]
    ? null
    : (JSON.parse(execFileSync(args.python!, [join(root, "bench", "tpe_replay.py"), ...common], { encoding: "utf8", maxBuffer: 1 << 28 })) as TunerStats);
  const all = [...ours.tuners, ...plain, ...(tpe ? [tpe] : [])];
  const bayes = ours.tuners.find((t) => t.tuner === "bayes")!;
  const b95 = bayes.reach95.median ?? Infinity;
  const t95 = tpe ? (tpe.reach95.median ?? Infinity) : NaN;
  const vsTpe = b95 / t95;
  const vsGrid = b95 / ours.configurations;
  const met = vsTpe <= 0.6 && vsGrid <= 0.2;
  allMet &&= met;
  summary.push({ landscape: file, configurations: ours.configurations, failed: ours.failed, prior: ours.prior, tuners: all, bayesVsTpe: Number.isFinite(t95) ? vsTpe : null, bayesVsGrid: vsGrid, met: tpe ? met : null });
  if (args.json) continue;
  console.log(`\n${file}: ${ours.configurations} configurations (${ours.failed} failed), params ${params}, ${args.seeds} seeds from ${args.seed}, N = ${args.trials}`);
  console.log(`  bayes prior mean: ${ours.prior.used ? ours.prior.detail : `none (${ours.prior.detail})`}`);
  console.log(`  ${"tuner".padEnd(8)} ${"trials to 95%".padEnd(16)} ${"trials to 99%".padEnd(16)} ${"best after N (%)".padEnd(20)} time`);
  for (const t of all) {
    const pct: Q = {
      q1: t.fractionAtN.q1 === null ? null : t.fractionAtN.q1 * 100,
      median: t.fractionAtN.median === null ? null : t.fractionAtN.median * 100,
      q3: t.fractionAtN.q3 === null ? null : t.fractionAtN.q3 * 100,
    };
    console.log(`  ${t.tuner.padEnd(8)} ${q(t.reach95).padEnd(16)} ${q(t.reach99).padEnd(16)} ${q(pct).padEnd(20)} ${(t.elapsedMs / 1000).toFixed(1)}s`);
  }
  if (!tpe) {
    console.log(`  bayes/full grid: ${vsGrid.toFixed(2)} (target <= 0.20); TPE not run (--no-tpe)`);
    continue;
  }
  const ratio = Number.isFinite(t95) ? vsTpe.toFixed(2) : `${Number.isFinite(b95) ? "<" : "?"} (TPE's median never got there)`;
  console.log(`  bayes/tpe trials to 95%: ${ratio} (target <= 0.60)   bayes/full grid: ${vsGrid.toFixed(2)} (target <= 0.20)   ${met ? "MET" : "NOT MET"}`);
}
if (args.json) console.log(JSON.stringify(summary, null, 2));
else if (!args["no-tpe"]) console.log(`\n${allMet ? "all targets met" : "some targets not met"}`);
