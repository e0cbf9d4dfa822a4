#!/usr/bin/env bash
# bayes/random/grid vs Optuna's TPE on the recorded landscapes (fixtures/landscapes/*.jsonl), with
# the issue's targets. Needs node, a built dist/ (npx tsc -p .) and Debian's python3-optuna
# (apt-get install -y python3-optuna). Options: --seeds K --seed S --trials N --objective FIELD
# --no-prior --no-tpe [files...]; bayes runs with the roofline prior where the sidecar allows, and
# again without it (row bayes-np).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f dist/bench/tuners-vs-tpe.js ]; then
  echo "tuners-vs-tpe: dist/bench/tuners-vs-tpe.js is missing; build first (npx tsc -p .)" >&2
  exit 2
fi
if [[ " $* " != *" --no-tpe "* ]] && ! /usr/bin/python3 -c "import optuna" 2>/dev/null; then
  echo "tuners-vs-tpe: Optuna is missing; apt-get install -y python3-optuna" >&2
  exit 2
fi
exec node dist/bench/tuners-vs-tpe.js "$@"
