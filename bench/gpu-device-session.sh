#!/usr/bin/env bash
# The GPU runs on the lent H200 machine (no Node.js there; see ../shared/device/). After
# `bash .device-carry/unpack.sh` (packed with pack.sh --cuda), from the project root:
#
#   bash bench/gpu-device-session.sh start probe tune-tiny sweep-tiny   # stages run in the background
#   bash bench/gpu-device-session.sh wait 560                            # follow them for up to 560 s
#
# Before packing: bash ../shared/device/pack.sh --cuda && bash bench/gpu-patch-backend.sh (the
# sm_90 backend relinked to the libggml-base.so beside it; without that it silently runs on the CPU).
#
# A device call may last 10 minutes and a 10-minute tune needs all of one, so the stages run in the
# background and `wait` is called again (within the machine's idle grace) until the log says done.
# Results go to /tmp/gpu-out and come back as $OUT/gpu-out.tgz (with session.log) at every wait.
# Stages: probe (stops the session unless node-llama-cpp loads its CUDA backend), tune-tiny,
# sweep-tiny (synthetic tinyllama-1.1b q4_0,q8_0), tune-8b, sweep-8b (llama-3.1-8b q4_k_m),
# grid-8b (a few llama-3.1-8b points, for a short lease), tune-multi and sweep-multi (several GPUs:
# the tune places workers with gpusPerWorker; the sweep sets spread against split), torchrun
# (examples/torchrun). TINY_BUDGET / BIG_BUDGET set the tune budgets (default 10m).
set -uo pipefail
APP=/tmp/app
RES=/tmp/gpu-out
mkdir -p "$RES"
export LD_LIBRARY_PATH=/usr/local/cuda/lib64
export PATH=$APP/.bin:$PATH
# A freshly built dist/ carried along (carry: [".device-carry", "dist"]) replaces the packed one,
# so a code change does not need a new pack.
if [ "${1:-}" = start ] && [ -d dist ] && [ "$(pwd)" != "$APP" ]; then cp -r dist/. "$APP/dist/"; fi
cd "$APP"
log() { echo "[$(date +%H:%M:%S)] $*" >>"$RES/session.log"; }
GRID_TINY="workers=4,8,12,16 sequences=256 threads=1 gpuLayers=23 batch=512 quant=q4_0,q8_0"
# 13.1 GiB per worker at 256 sequences: 9 workers fill an H200.
GRID_8B="workers=4,6,8 sequences=128,256 threads=1 gpuLayers=33 batch=512"
# On a machine with several GPUs: spread (one GPU per worker) against split (every worker on all).
GRID_MULTI="workers=2,4,8,16 sequences=256 threads=1 gpuLayers=23 batch=512 quant=q8_0 gpusPerWorker=1,$(nvidia-smi -L 2>/dev/null | wc -l)"

# A few whole-GPU configurations of llama-3.1-8b q4_k_m measured with `paratune bench`, one line
# each in grid-8b.jsonl, most telling first, stopping before GRID_8B_SECONDS so a short lease
# still brings back what was measured.
grid_8b() {
  local t0=$SECONDS model
  node bin/paratune.js synth --shape llama-3.1-8b --quant q4_k_m --out /tmp/paratune-models --json >"$RES/synth-8b.json" || return 1
  model=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[0].path)' "$RES/synth-8b.json")
  for point in ${GRID_8B_POINTS:-4x256 8x256 1x256 16x256 2x256 4x64}; do
    [ $((SECONDS - t0)) -lt "${GRID_8B_SECONDS:-120}" ] || { log "grid-8b: out of time before $point"; break; }
    node bin/paratune.js bench --model "$model" --workers "${point%x*}" --sequences "${point#*x}" --threads 1 \
      --gpu-layers 33 --batch 512 --reps 2 --json >>"$RES/grid-8b.jsonl" 2>>"$RES/grid-8b.err"
    log "grid-8b $point: exit $?"
  done
}

stage() {
  log "stage $1 (load $(cut -d' ' -f1-3 /proc/loadavg); GPU $(nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader))"
  case $1 in
    probe)
      node bin/paratune.js probe --json >"$RES/probe.json" 2>>"$RES/session.log"; nvidia-smi topo -m >"$RES/topo.txt" 2>&1
      node -e 'const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.exit(p.gpuBackend?.backend === "cuda" ? 0 : 1)' "$RES/probe.json" || { log "node-llama-cpp loaded no CUDA backend: stopping"; return 1; } ;;
    tune-tiny) node bin/paratune.js tune --budget "${TINY_BUDGET:-10m}" --shape tinyllama-1.1b --quant q4_0,q8_0 --out "$RES/tune-tiny" --json >"$RES/tune-tiny.json" 2>"$RES/tune-tiny.err" ;;
    sweep-tiny) node dist/bench/side-by-side.js --result "$RES/tune-tiny/result.json" --grid "$GRID_TINY" --out "$RES/sweep-tiny.jsonl" >"$RES/sweep-tiny.txt" 2>&1 ;;
    tune-8b) node bin/paratune.js tune --budget "${BIG_BUDGET:-10m}" --shape llama-3.1-8b --quant q4_k_m --out "$RES/tune-8b" --json >"$RES/tune-8b.json" 2>"$RES/tune-8b.err" ;;
    sweep-8b) node dist/bench/side-by-side.js --result "$RES/tune-8b/result.json" --grid "$GRID_8B" --out "$RES/sweep-8b.jsonl" >"$RES/sweep-8b.txt" 2>&1 ;;
    grid-8b) grid_8b ;;
    tune-multi) node bin/paratune.js tune --budget "${TINY_BUDGET:-10m}" --shape tinyllama-1.1b --quant q8_0 --out "$RES/tune-multi" --json >"$RES/tune-multi.json" 2>"$RES/tune-multi.err" ;;
    sweep-multi) node dist/bench/side-by-side.js --result "$RES/tune-multi/result.json" --grid "$GRID_MULTI" --out "$RES/sweep-multi.jsonl" >"$RES/sweep-multi.txt" 2>&1 ;;
    torchrun) OUT=$RES bash examples/torchrun/tune.sh "${TORCH_BUDGET:-4m}" "${TORCH_BATCHES:-16,32,64,128,256}" >"$RES/torchrun.txt" 2>&1 ;;
    *) log "unknown stage $1" ;;
  esac
  log "stage $1 ended with $?"
}

case ${1:-} in
  start)
    shift
    # Its own session: the device call that starts it may end before it does.
    export -f stage log grid_8b
    export RES GRID_TINY GRID_8B GRID_MULTI
    setsid nohup bash -c 'for s in "$@"; do stage "$s" || break; done; log "ALL DONE"' _ "$@" >/dev/null 2>&1 < /dev/null &
    echo "started: $*"
    ;;
  wait)
    limit=${2:-560}
    t0=$(date +%s)
    while ! grep -q "ALL DONE" "$RES/session.log" 2>/dev/null && [ $(($(date +%s) - t0)) -lt "$limit" ]; do sleep 5; done
    cat "$RES/session.log"
    [ -n "${OUT:-}" ] && { cp "$RES/session.log" "$OUT"/; tar -C "$RES" -czf "$OUT/gpu-out.tgz" .; }
    for f in "$RES"/*.txt; do [ -f "$f" ] && { echo "== $f"; tail -25 "$f"; }; done
    ;;
  *) echo "usage: $0 start STAGE... | wait SECONDS" >&2; exit 2 ;;
esac
