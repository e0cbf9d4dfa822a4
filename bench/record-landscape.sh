#!/usr/bin/env bash
# Records a tuner-benchmark landscape into fixtures/landscapes/ (see bench/record-landscape.ts for
# every option). Needs only `node` and a built dist/ (npx tsc -p . on a machine with npm).
#
#   bench/record-landscape.sh --out fixtures/landscapes/NAME.jsonl \
#     --model q4_0=/path/model-q4_0.gguf --model q8_0=/path/model-q8_0.gguf \
#     --workers 1,2,4 --threads 1,2,4,8,16 --sequences 1,2,4,8,16 --batch 512 \
#     [--runner batched-bench --bin /path/llama-batched-bench | --runner paratune "--bench-args=--reps 2"] \
#     [--time-limit SECONDS] [--note "what else ran on the machine"]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f dist/bench/record-landscape.js ]; then
  echo "record-landscape: dist/bench/record-landscape.js is missing; build first (npx tsc -p .)" >&2
  exit 2
fi
exec node dist/bench/record-landscape.js "$@"
