#!/usr/bin/env bash
# Prints the performance models' accuracy on every recorded landscape (see bench/models-accuracy.ts):
# MAPE on held-out configurations after K = 0, 4, 8, 16 random trials, interval coverage, and the
# roofline's pick before any trial against the true best. Needs only `node` and a built dist/.
#   bench/models-accuracy.sh [landscape.jsonl ...] [--repeats 20] [--seed 1] [--k 0,4,8,16] [--json]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f dist/bench/models-accuracy.js ]; then
  echo "models-accuracy: dist/bench/models-accuracy.js is missing; build first (npx tsc -p .)" >&2
  exit 2
fi
exec node dist/bench/models-accuracy.js "$@"
