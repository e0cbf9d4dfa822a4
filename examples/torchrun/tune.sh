#!/usr/bin/env bash
# Tunes train.py's launch: processes per node (torchrun --nproc_per_node, one GPU each) x batch
# size per process, with paratune's command workload, then prints the .env and the report's
# scaling section. Self-contained: needs PyTorch (torchrun on PATH) and Node.js with this
# repository built (dist/); no network.
#
#   bash examples/torchrun/tune.sh [budget=8m] [batches=16,32,64]
#
# Process counts: the powers of two up to the GPUs present (1 on a machine without one, where
# gloo on the CPU stands in). The run folder goes to $OUT/torchrun-run when OUT is set (the device
# machine's result folder), else to examples/torchrun/torchrun-run.
set -euo pipefail
# Node.js as bench/device-session.sh unpacks it, on machines without one of their own.
[ -x /tmp/fid/bin/node ] && export PATH=/tmp/fid/bin:$PATH
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUDGET="${1:-8m}"
BATCHES="${2:-16,32,64}"
RUN="${OUT:-$HERE}/torchrun-run"
[ -f "$ROOT/dist/src/cli/main.js" ] || { echo "dist/ is missing: run npm run build (or bench/device-session.sh unpack) first" >&2; exit 1; }
# torchrun is PyTorch's console script; where its folder is not on PATH the module does the same.
if command -v torchrun >/dev/null; then TORCHRUN=torchrun
elif python3 -c 'import torch.distributed.run' 2>/dev/null; then TORCHRUN="python3 -m torch.distributed.run"
else echo "torchrun is missing: this example needs PyTorch" >&2; exit 1; fi

GPUS=$(python3 -c 'import torch; print(torch.cuda.device_count())')
NPROC=1
n=2
while [ "$n" -le "$GPUS" ]; do NPROC="$NPROC,$n"; n=$((n * 2)); done
echo "torch $(python3 -c 'import torch; print(torch.__version__)'), $GPUS GPUs: nproc in {$NPROC}, batch in {$BATCHES}, budget $BUDGET" >&2
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /' >&2 || true

FLAGS=(--cmd "$TORCHRUN --standalone --nproc_per_node {nproc} train.py"
  --env 'NPROC_PER_NODE={nproc}' --env 'BATCH_SIZE={batch}'
  --param "nproc=$NPROC" --param "batch=$BATCHES"
  --metric 'throughput: ([0-9.]+)' --tuner grid --reps 2)
cd "$HERE"
node "$ROOT/bin/paratune.js" tune "${FLAGS[@]}" --budget "$BUDGET" --out "$RUN"
echo "--- $RUN/.env"
cat "$RUN/.env"
echo "--- recommend with the same flags (from the store)"
node "$ROOT/bin/paratune.js" recommend "${FLAGS[@]}" --budget 0 --json | python3 -c 'import json,sys; a=json.load(sys.stdin); print(a["source"], a["elapsedMs"], "ms", a["env"])'
echo "--- scaling"
sed -n '/^## Scaling/,/^## [A-RT-Z]/p' "$RUN/report.md"
