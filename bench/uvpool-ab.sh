#!/usr/bin/env bash
# A/B on the many-core machine: the llama worker with libuv's default pool (4 threads) against
# UV_THREADPOOL_SIZE=1, alternating, lines appended to $OUT/uv.tsv as they are measured.
# Needs node, dist/ and node_modules (bench/device-session.sh unpack). Session 4, run 18.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH=/tmp/fid/bin:$PATH
OUT=${OUT:-/tmp/device-out}; mkdir -p "$OUT"
M=$(node bin/paratune.js synth --shape tinyllama-1.1b --quant q4_0 --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].path))')
echo "model $M load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/uv.tsv"
for round in $(seq "${ROUNDS:-2}"); do
  for cell in "16 16 lockstep" "16 16 decode-only" "8 16 lockstep"; do
    set -- $cell
    # 4 is libuv's default (what workers got before session 4); 1 is paratune's default since.
    # A-B in odd rounds, B-A in even ones, so that drift does not favour either.
    order="4 1"; [ $((round % 2)) = 0 ] && order="1 4"
    for pool in $order; do
      r=$(env PARATUNE_WORKER_THREADPOOL_SIZE="$pool" node bin/paratune.js bench --model "$M" --threads "$1" --sequences "$2" --dispatch "$3" --prompt-tokens 64 --gen-tokens 64 --reps 3 --json 2>/dev/null |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const j=JSON.parse(s);const m=j.metrics??j.measurement?.metrics;console.log(m.decodeTps.toFixed(1),(j.rme??j.measurement?.rme??0).toFixed(3))}catch(e){console.log("failed")}})')
      echo -e "$round\t$1x$2\t$3\tpool=$pool\t$r" | tee -a "$OUT/uv.tsv"
    done
  done
done
