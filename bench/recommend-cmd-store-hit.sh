#!/usr/bin/env bash
# How fast `paratune recommend --cmd` answers from the store (target: under 1 s, no trial).
# Seeds an empty store with one tuning run of examples/python-batch (the README's flags, a shorter
# budget), then asks the same question N times in fresh processes and prints, per answer, the time
# recommend() itself took (probe fingerprint + command identity + store read) and the whole
# process's wall time (Node start and module loading included). Needs python3 and a built dist/.
#
#   bench/recommend-cmd-store-hit.sh [answers=5] [seed-budget=40s]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
N="${1:-5}"
SEED_BUDGET="${2:-40s}"
[ -f "$ROOT/dist/src/recommend-command.js" ] || { echo "dist/ is missing: run npm run build first" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export PARATUNE_DATA_DIR="$WORK/data" PARATUNE_CACHE_DIR="$WORK/cache"
cp "$ROOT/examples/python-batch/batch_job.py" "$WORK/"
cd "$WORK"
FLAGS=(--cmd "python3 batch_job.py" --env 'WORKERS={workers}' --env 'BATCH_SIZE={batch}' --param workers=1,2 --param batch=1,16,256 --metric 'throughput: ([0-9.]+)' --tuner grid)

echo "seeding the store: one tuning run of $SEED_BUDGET (examples/python-batch)" >&2
node "$ROOT/bin/paratune.js" tune "${FLAGS[@]}" --budget "$SEED_BUDGET" --out "$WORK/run" --json >/dev/null 2>&1
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-8s %-8s %-16s %-14s\n" answer source "recommend() ms" "process ms"
for i in $(seq 1 "$N"); do
  t0=$(date +%s%N)
  out=$(node "$ROOT/bin/paratune.js" recommend "${FLAGS[@]}" --budget 0 --json 2>/dev/null)
  t1=$(date +%s%N)
  echo "$out" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const a=JSON.parse(s);console.log(a.source, a.elapsedMs)})' \
    | { read -r source ms; printf "%-8s %-8s %-16s %-14s\n" "$i" "$source" "$ms" "$(( (t1 - t0) / 1000000 ))"; }
done
