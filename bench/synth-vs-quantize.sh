#!/bin/sh
# Synthetic vs llama-quantize: sizes, per-tensor types and decode speed (see synth-vs-quantize.ts).
# Needs the built dist/ (npx tsc -p .) and llama.cpp's llama-quantize and llama-bench
# (LLAMA_CPP_BIN or --bin, default /work/llama.cpp/build/bin). Example:
#   bench/synth-vs-quantize.sh --shape tinyllama-1.1b --quant q4_k_m,q8_0 --threads 2
set -e
cd "$(dirname "$0")/.."
exec node dist/bench/synth-vs-quantize.js "$@"
