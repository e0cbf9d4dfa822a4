#!/usr/bin/env bash
# How much a tuning budget buys: runs `paratune tune` pinned to a set of CPUs and prints what
# the run did with its time (trials per fidelity, time to the first trial, the recommendation,
# its speedup over the baseline, and how far past the budget it ended).
#
#   bench/tune-budget.sh [budget] [cpu-list] [extra paratune tune flags...]
#   bench/tune-budget.sh 1m 0,1                      # the default run on two cores (docs/tuning.md)
#   bench/tune-budget.sh 10m 0-15 --shape tinyllama-1.1b --quant q4_0,q8_0
#
# Needs node and a built dist/ (npm ci). Uses a temporary cache, so model synthesis is paid
# as on a first run; set PARATUNE_CACHE_DIR to reuse models.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-1m}
cpus=${2:-0,1}
shift $(( $# >= 2 ? 2 : $# ))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PARATUNE_CACHE_DIR=${PARATUNE_CACHE_DIR:-$work/cache}
export PARATUNE_DATA_DIR=$work/data
start=$(date +%s%N)
taskset -c "$cpus" node bin/paratune.js tune --budget "$budget" --out "$work/run" --json "$@" > "$work/out.json"
end=$(date +%s%N)
node - "$work/out.json" "$(( (end - start) / 1000000 ))" "$cpus" <<'JS'
const fs = require("fs");
const [file, wallMs, cpus] = process.argv.slice(2);
const { result: r } = JSON.parse(fs.readFileSync(file, "utf8"));
const cfg = (c) => Object.entries(c).map(([k, v]) => `${k}=${v}`).join(" ");
const byFidelity = {};
for (const t of r.trials) {
  const k = `fidelity ${t.fidelity.toFixed(2)}`;
  byFidelity[k] ??= { trials: 0, ok: 0, seconds: 0 };
  byFidelity[k].trials++;
  if (t.value !== null) byFidelity[k].ok++;
  byFidelity[k].seconds += t.measurement.durationMs / 1000;
}
const first = r.trials.length ? (r.trials[0].elapsedMs - r.trials[0].measurement.durationMs) / 1000 : null;
console.log(`cpus ${cpus} (usable ${r.hardware.limits.cpus}), budget ${r.budgetMs / 1000}s, wall ${(wallMs / 1000).toFixed(1)}s (${((wallMs - r.budgetMs) / 1000).toFixed(1)}s past the budget), ended: ${r.ended}`);
console.log(`workload: ${r.workload.kind} ${(r.workload.models ?? []).map((m) => `${m.name} ${m.quant}`).join(", ")} ${JSON.stringify(r.workload.settings)}`);
console.log(`first trial started after ${first?.toFixed(1)}s (probe + synthesis)`);
for (const [k, v] of Object.entries(byFidelity)) console.log(`${k}: ${v.trials} trials (${v.ok} ok), ${v.seconds.toFixed(1)}s, ${(v.seconds / v.trials).toFixed(1)}s each`);
const row = (label, x) => x && console.log(`${label}: ${cfg(x.config)}  ${x.measured ? x.measured.mean.toFixed(1) : "-"} ${r.workload.objective.metric}  speedup ${x.speedupMeasured?.toFixed(2) ?? "-"}x (predicted ${x.speedupPredicted?.toFixed(2) ?? "-"}x)`);
row("best", r.best);
row("runner-up", r.runnerUp);
row("baseline", r.baseline);
console.log(`confidence: ${r.confidence.level} - ${r.confidence.reason}`);
console.log(`infeasible configurations: ${r.infeasible.length}`);
for (const t of r.trials.filter((t) => t.value === null)) {
  console.log(`not measured: ${cfg(t.config)} at ${t.fidelity.toFixed(2)}: ${t.measurement.status} ${(t.measurement.error ?? "").split("\n")[0].slice(0, 160)}`);
}
JS
