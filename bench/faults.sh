#!/usr/bin/env bash
# Fault figures (seconds to stop, processes left, trials lost) for comparing run to run; see
# bench/faults.ts. Needs node_modules and a built dist/ (npx tsc -p .). About a minute.
#   bench/faults.sh [--kills 10]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/bench/faults.js ] || { echo "faults: dist/bench/faults.js is missing; build first (npx tsc -p .)" >&2; exit 2; }
exec node dist/bench/faults.js "$@"
