#!/usr/bin/env bash
# Records the decode landscape the models accuracy bench checks against, on the 16-core device
# machine, with nothing but what .device-carry/models-eng/ brings (node, llama-batched-bench built
# here, execa's closure for the probe) and dist/. Writes into $OUT (default /tmp/models-out):
#   hardware.json                 probe() with the bandwidth curve measured
#   tinyllama-q4_0.modelinfo.json  not written here (the synthetic file's ModelInfo is read locally)
#   xeon16-tinyllama-q4_0.jsonl    one line per configuration (bench/record-landscape.ts format)
# The model is a synthetic TinyLlama-1.1B q4_0 (real tensor layout, random weights): decode speed
# depends on shape and quant, not on the weights' values.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/models-out}; mkdir -p "$OUT"
C=.device-carry/models-eng
W=/tmp/models-eng; mkdir -p "$W"
[ -x "$W/node" ] || { xz -d -c "$C/node.xz" > "$W/node"; chmod +x "$W/node"; }
mkdir -p node_modules && cp -rn "$C/node_modules/." node_modules/
export LD_LIBRARY_PATH="$PWD/$C/bin"
[ -f "$W/tl-q4_0.gguf" ] || "$W/node" dist/bench/models-make-model.js tinyllama-1.1b q4_0 "$W/tl-q4_0.gguf"
lscpu > "$OUT/lscpu.txt"
if [ "${SKIP_PROBE:-0}" != 1 ]; then "$W/node" dist/bench/models-probe.js > "$OUT/hardware.json"; fi
# One recording per worker count, so that each can have its own thread list: every w x t up to
# 2x the cores (the oversubscribed ones show the cliff; past 2x they only burn the time limit).
# PLAN="w:t,t,..;..." overrides; OVERSUB=0 keeps w x t <= cores.
cores=$(nproc)
plan=${PLAN:-}
if [ -z "$plan" ]; then
  for w in 1 2 4 8 16; do
    ts=""; for t in 1 2 4 8 16; do
      if [ $((w*t)) -le "$cores" ] || { [ "${OVERSUB:-1}" = 1 ] && [ $((w*t)) -le $((2*cores)) ]; }; then ts="$ts,$t"; fi
    done
    [ -n "$ts" ] && plan="$plan;$w:${ts#,}"
  done
  plan=${plan#;}
fi
name=${NAME:-xeon16-tinyllama-q4_0}
: > "$OUT/$name.jsonl"
IFS=';' read -ra parts <<< "$plan"
for part in "${parts[@]}"; do
  w=${part%%:*}; ts=${part#*:}
  "$W/node" dist/bench/record-landscape.js --bin "$C/bin/llama-batched-bench" --model "q4_0=$W/tl-q4_0.gguf" \
    --workers "$w" --threads "$ts" --sequences "${SEQUENCES:-1,4,16}" \
    --npp 32 --ntg "${NTG:-48}" --time-limit "${TIME_LIMIT:-240}" --trial-timeout "${TRIAL_TIMEOUT:-30}" \
    --note "device machine, nothing else running" --out "$OUT/part-w$w.jsonl"
  cat "$OUT/part-w$w.jsonl" >> "$OUT/$name.jsonl"
done
wc -l "$OUT/$name.jsonl"
