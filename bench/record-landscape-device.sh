#!/usr/bin/env bash
# One command for a machine with many cores (the lead's 16-core device machine): synthesizes a
# model in two quantizations with `paratune synth`, then records a full grid with `paratune bench`
# into fixtures/landscapes/NAME.jsonl (+ .meta.json). Needs node, a built dist/ and node_modules
# with node-llama-cpp; no npm. Prints the replay result at the end.
#
#   bench/record-landscape-device.sh                      # defaults below, ~25 min at most
#   SHAPE=qwen2.5-0.5b TIME_LIMIT=1200 NAME=qwen05b-16core bench/record-landscape-device.sh
#   RESUME=1 LANDSCAPE_DIR=/tmp/ls ...   # keep what an earlier, cut-off call recorded there
#   WORKERS=1,2 THREADS=8,16 BENCH_ARGS="--reps 4 --prompt-tokens 32 --gen-tokens 64 --timeout 90s" NAME=... \
#     bench/record-landscape-device.sh     # a subset, measured longer (the erratic many-thread rows)
# Only configurations with workers x threads <= the cores are recorded (tune never runs the others).
set -euo pipefail
cd "$(dirname "$0")/.."
CORES=$(nproc)
SHAPE=${SHAPE:-qwen2.5-0.5b}
NAME=${NAME:-${SHAPE}-${CORES}core}
TIME_LIMIT=${TIME_LIMIT:-1500}
MODELS=${MODELS:-/tmp/paratune-landscape-models}
WORKERS=${WORKERS:-1,2,4,8,16}
THREADS=${THREADS:-1,2,4,8,16}
SEQUENCES=${SEQUENCES:-1,4,16}
OUT=${LANDSCAPE_DIR:-fixtures/landscapes}/${NAME}.jsonl
resume=(); [ "${RESUME:-0}" = 1 ] && resume=(--resume)
mkdir -p "$(dirname "$OUT")"

node bin/paratune.js synth --shape "$SHAPE" --quant q4_0,q8_0 --out "$MODELS" --json > "$MODELS.synth.json"
path_of() { node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(r.find((m) => m.quant === process.argv[2]).path)' "$MODELS.synth.json" "$1"; }
Q4=$(path_of q4_0)
Q8=$(path_of q8_0)

bench/record-landscape.sh --runner paratune --out "$OUT" \
  --model "q4_0=$Q4" --model "q8_0=$Q8" \
  --workers "$WORKERS" --threads "$THREADS" --sequences "$SEQUENCES" --batch 512 \
  "--bench-args=${BENCH_ARGS:---reps 2 --prompt-tokens 32 --gen-tokens 32 --timeout 60s}" \
  --trial-timeout 150 --time-limit "$TIME_LIMIT" --max-cores "$CORES" "${resume[@]}" \
  --note "${NOTE:-$CORES-core machine, $SHAPE synthetic weights, nothing else running}"

[ "${SKIP_REPLAY:-0}" = 1 ] || node bin/paratune.js replay --landscape "$OUT" --params workers,threads,sequences,quant --objective decodeTps --tuner bayes,random,grid --trials 30 --seeds 20
echo "landscape: $OUT (and ${OUT%.jsonl}.meta.json)"
