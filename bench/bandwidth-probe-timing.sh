#!/usr/bin/env bash
# How long probe() takes: without bandwidth (target under 2 s) and with a fresh bandwidth
# measurement (target under 15 s on 2 cores), in a fresh node process each time, plus the cached
# second call that `paratune tune` makes. Needs a built dist/ and node_modules.
#
#   bench/bandwidth-probe-timing.sh [runs]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="${1:-3}"
[ -f "$ROOT/dist/probes/index.js" ] || { echo "dist/ is missing: run npx tsc -p . first" >&2; exit 1; }
CACHE="$(mktemp -d)"
trap 'rm -rf "$CACHE"' EXIT
run() {
  PARATUNE_CACHE_DIR="$CACHE" node --input-type=module -e "
    const t0 = performance.now();
    const { probe } = await import('$ROOT/dist/probes/index.js');
    const t1 = performance.now();
    const p = await probe($1);
    const t2 = performance.now();
    console.log(((t2 - t1) / 1000).toFixed(3) + ' s probe (' + ((t1 - t0) / 1000).toFixed(3) + ' s import), durationMs ' + p.durationMs + (p.bandwidth ? ', peak ' + p.bandwidth.peakGbps + ' GB/s at ' + p.bandwidth.curve.length + ' thread counts' : ''));
  "
}
echo "load: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
echo "== without bandwidth"
for i in $(seq 1 "$RUNS"); do run "{}"; done
echo "== with bandwidth, measured (refresh)"
for i in $(seq 1 "$RUNS"); do run "{ bandwidth: true, refresh: true }"; done
echo "== with bandwidth, from the cache"
run "{ bandwidth: true }"
