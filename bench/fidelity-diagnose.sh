#!/usr/bin/env bash
# Where does paratune's llama workload (node-llama-cpp's prebuilt CPU backend) differ from
# llama-batched-bench built from the same llama.cpp source? Measures one cell (THREADS x SEQS)
# with variants of each side, REPS times each:
#   bb-native      -march=native build (llama.cpp's default), without OpenMP
#   bb-native -fa off / -fa on / -nr (no weight repacking)
#   bb-variant     built like node-llama-cpp's prebuilt x86 variant for this CPU (GGML_NATIVE=OFF with
#                  the feature list of VARIANT_FLAGS; default: sapphirerapids' list), without OpenMP
#   paratune       fa auto / off / on
# and prints which CPU backend and buffer types each side reports. Builds what is missing with
# bench/device-session.sh's build stage (LLAMA_SRC, LLAMA_BUILD_DIR, VARIANT_FLAGS) and needs node.
#   THREADS=8 SEQS=16 bench/fidelity-diagnose.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NODE=${NODE:-node}
T=${THREADS:-8}
S=${SEQS:-16}
REPS=${REPS:-3}
P=${PROMPT:-64}
G=${GEN:-64}
B=${LLAMA_BUILD_DIR:-/tmp/paratune-llama.cpp}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

"$NODE" "$ROOT/bin/paratune.js" synth --shape "${SHAPE:-tinyllama-1.1b}" --quant "${QUANT:-q4_0}" --json >"$WORK/synth.json"
MODEL=$("$NODE" -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"))[0].path)' "$WORK/synth.json")

echo "compiler: $(${CC:-cc} --version | head -1)"
echo "-march=native defines: $(${CC:-cc} -march=native -dM -E - </dev/null | grep -o '__AMX_[A-Z0-9]*__\|__AVX512VNNI__\|__AVX512BF16__' | sort -u | tr '\n' ' ')"

# Both builds come from device-session.sh's build stage (it skips a build already there).
LLAMA_BUILD_DIR="$B" FID_BUILDS="noomp variant" bash "$ROOT/bench/device-session.sh" build

bb() { # bb <label> <binary> [extra args...]: mean decode tok/s over REPS
  local label=$1 bin=$2; shift 2
  local v=()
  for _ in $(seq "$REPS"); do
    "$bin" -m "$MODEL" -t "$T" -tb "$T" -npl "$S" -npp "$P" -ntg "$G" -c $((S * (P + G) + 256)) -b 512 -ub 512 "$@" \
      --output-format jsonl 2>/dev/null | grep '"speed_tg"' | tail -1 >"$WORK/bb.json" || true
    [ -s "$WORK/bb.json" ] && v+=("$("$NODE" -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).speed_tg)' "$WORK/bb.json")")
  done
  echo "$label ${v[*]:-failed}" | awk '{s=0; for(i=2;i<=NF;i++) s+=$i; printf "%-28s %8.1f   (%s)\n", $1, (NF>1 ? s/(NF-1) : 0), substr($0, length($1)+2)}'
}
ours() { # ours <label> [paratune bench flags...]
  local label=$1; shift
  "$NODE" "$ROOT/bin/paratune.js" bench --model "$MODEL" --threads "$T" --sequences "$S" --prompt-tokens "$P" --gen-tokens "$G" \
    --reps "$REPS" "$@" --json >"$WORK/nlc.json" || true
  "$NODE" -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).measurement; console.log(process.argv[2].padEnd(28), d.status==="ok" ? d.metrics.decodeTps.toFixed(1).padStart(8) + "   (+-" + (100*d.rme).toFixed(1) + "%)" : d.status)' "$WORK/nlc.json" "$label"
}

echo "cell: $T threads x $S sequences, prompt $P, generate $G, $REPS repetitions; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "--- what each llama-batched-bench build reports (system info, weight buffers)"
for b in noomp variant; do
  # -v prints the loader's debug lines: the buffer types the weights went to and the first repack.
  "$B/build-$b/bin/llama-batched-bench" -m "$MODEL" -t "$T" -npl 1 -npp 8 -ntg 1 -c 256 -v 2>&1 \
    | grep -i "model buffer size\|AMX\|repack tensor" | awk '!/repack tensor/ || !seen++' | sed "s/^/$b: /" | head -8 || true
done
echo "--- decode tok/s"
bb bb-native "$B/build-noomp/bin/llama-batched-bench"
bb bb-native-fa-off "$B/build-noomp/bin/llama-batched-bench" -fa off
bb bb-native-fa-on "$B/build-noomp/bin/llama-batched-bench" -fa on
bb bb-native-no-repack "$B/build-noomp/bin/llama-batched-bench" -nr
bb bb-variant "$B/build-variant/bin/llama-batched-bench"
bb bb-variant-no-repack "$B/build-variant/bin/llama-batched-bench" -nr
ours paratune
ours paratune-fa-off --flash-attention off
ours paratune-fa-on --flash-attention on
