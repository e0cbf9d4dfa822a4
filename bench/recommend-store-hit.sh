#!/usr/bin/env bash
# How fast `paratune recommend` answers from the store (the issue's target: under 1 s, no trial).
# Seeds an empty store with one real tuning run of the synthetic tiny model, then asks the same
# question N times in fresh processes and prints, per answer, the time recommend() itself took
# (probe fingerprint + model identity + store read) and the whole process's wall time (Node start
# and module loading included). Needs node_modules and a built dist/ (npx tsc -p .).
#
#   bench/recommend-store-hit.sh [answers=5] [seed-budget=30s]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
N="${1:-5}"
SEED_BUDGET="${2:-30s}"
[ -f "$ROOT/dist/src/recommend.js" ] || { echo "dist/ is missing: run npx tsc -p . first" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export PARATUNE_DATA_DIR="$WORK/data"
ARGS=(recommend --shape tiny --quant q4_0 --json)

echo "seeding the store: one tuning run of $SEED_BUDGET (tiny q4_0)" >&2
node "$ROOT/bin/paratune.js" "${ARGS[@]}" --budget "$SEED_BUDGET" --out "$WORK/run" 2>/dev/null \
  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const a=JSON.parse(s);console.log(`seed: source ${a.source}, ${a.recommendation.trials} trials, ${(a.elapsedMs/1000).toFixed(1)} s`)})'

echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-8s %-8s %-16s %-14s\n" answer source "recommend() ms" "process ms"
for i in $(seq 1 "$N"); do
  t0=$(date +%s%N)
  out=$(node "$ROOT/bin/paratune.js" "${ARGS[@]}" --budget 30s 2>/dev/null)
  t1=$(date +%s%N)
  echo "$out" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const a=JSON.parse(s);console.log(a.source, a.elapsedMs)})' \
    | { read -r source ms; printf "%-8s %-8s %-16s %-14s\n" "$i" "$source" "$ms" "$(( (t1 - t0) / 1000000 ))"; }
done
