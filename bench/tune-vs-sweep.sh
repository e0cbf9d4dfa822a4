#!/usr/bin/env bash
# Runs a tune, then re-measures its recommendation side by side with a wider set of strong
# configurations (bench/side-by-side.ts) and prints recommendation / best and how far the tune's
# own number was from the re-measurement.
#
#   bash bench/tune-vs-sweep.sh [BUDGET] [GRID] [-- extra tune flags]
#   BUSY=1 bash bench/tune-vs-sweep.sh 1m        # with another process keeping one core busy
#
# Default: the README's tune (--budget 1m, the default model) and a CPU grid around it.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-1m}
grid=${2:-"workers=1,2 threads=1,2 sequences=4,8,16,32"}
shift $(( $# > 2 ? 2 : $# )) || true
[ "${1:-}" = "--" ] && shift
out=$(mktemp -d /tmp/paratune-tune-vs-sweep.XXXXXX)
busy_pid=""
if [ "${BUSY:-0}" = 1 ]; then
  node -e 'for(;;){}' & busy_pid=$!
  trap 'kill $busy_pid 2>/dev/null' EXIT
  echo "another process keeps one core busy (pid $busy_pid)"
fi
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
node bin/paratune.js tune --budget "$budget" --out "$out/tune" "$@" >"$out/tune.txt" 2>"$out/tune.err" || true
sed -n '1,12p' "$out/tune.txt"
node dist/bench/side-by-side.js --result "$out/tune/result.json" --grid "$grid" --out "$out/sweep.jsonl"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); files in $out"
