#!/usr/bin/env bash
# Fidelity of paratune's llama workload: decode tok/s of `paratune bench` (node-llama-cpp) against
# llama.cpp's own llama-batched-bench, same model, threads and parallel sequences, same machine.
#
# Needs: node, this repository built (npm run build, node_modules present), cmake + a C++ compiler
# when llama-batched-bench has to be built. Prints a table; numbers go to a dated file in docs/measurements/.
#
#   bench/fidelity-vs-batched-bench.sh                         # tinyllama-1.1b q4_0, all cores, 1 4 16 sequences
#   THREADS="8 16" SEQUENCES="1 16" bench/fidelity-vs-batched-bench.sh
#   MODEL=/path/model.gguf REPS=5 bench/fidelity-vs-batched-bench.sh
#
# Settings (environment):
#   MODEL        a .gguf; default: synthesized with `paratune synth` (SHAPE, QUANT below)
#   SHAPE QUANT  synthetic model shape and type (default tinyllama-1.1b, q4_0)
#   THREADS      thread counts (default: all CPUs)      SEQUENCES  sequence counts (default "1 4 16")
#   PROMPT GEN   prompt and generated tokens per sequence (default 64, 64)
#   REPS         repetitions of each measurement, both tools (default 3)
#   BATCHED_BENCH  space-separated label=path list of llama-batched-bench binaries. Default: built
#                from node-llama-cpp's own llama.cpp source (gitRelease.bundle) into LLAMA_BUILD_DIR
#                twice: "omp" (llama.cpp's default build: OpenMP, -march=native) and "noomp"
#                (-DGGML_OPENMP=OFF, the threading that node-llama-cpp's prebuilt binaries use).
#   BUILDS       which of those two to build (default "omp noomp")
#   LLAMA_BUILD_DIR  where to clone and build (default: /tmp/paratune-llama.cpp)
#   LLAMA_SRC    an existing llama.cpp source tree to build from instead of cloning the bundle
#   DISPATCH     paratune dispatch modes to measure (default "lockstep free"); "mode@a,b" also passes
#                node options a b to the workers (PARATUNE_WORKER_NODE_ARGS), e.g. lockstep@--single-threaded-gc
#   FA           flash-attention modes, each measured with both tools (default "auto"; e.g. "off on")
#   ROUNDS       how many times the whole table is measured (default 1): rounds show run-to-run drift
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NODE=${NODE:-node}
CLI="$ROOT/bin/paratune.js"
THREADS=${THREADS:-$(nproc)}
SEQUENCES=${SEQUENCES:-"1 4 16"}
PROMPT=${PROMPT:-64}
GEN=${GEN:-64}
REPS=${REPS:-3}
SHAPE=${SHAPE:-tinyllama-1.1b}
QUANT=${QUANT:-q4_0}
DISPATCH=${DISPATCH:-"lockstep free"}
FA=${FA:-auto}
ROUNDS=${ROUNDS:-1}
LLAMA_BUILD_DIR=${LLAMA_BUILD_DIR:-/tmp/paratune-llama.cpp}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

[ -f "$ROOT/dist/src/workloads/llama-worker.js" ] || { echo "build first: npm run build" >&2; exit 1; }

json() { # json <file> <js expression over `d`>
  "$NODE" -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); const v=('"$2"'); console.log(v)' "$1"
}

if [ -z "${MODEL:-}" ]; then
  "$NODE" "$CLI" synth --shape "$SHAPE" --quant "$QUANT" --json >"$WORK/synth.json"
  MODEL=$(json "$WORK/synth.json" 'd[0].path')
fi

build_batched_bench() { # build_batched_bench <label> <cmake flags...>
  local label=$1; shift
  local src="${LLAMA_SRC:-$LLAMA_BUILD_DIR/src}" out="$LLAMA_BUILD_DIR/build-$label"
  if [ ! -x "$out/bin/llama-batched-bench" ]; then
    if [ ! -d "$src" ]; then
      git clone -q "$ROOT/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$src" >&2
    fi
    cmake -S "$src" -B "$out" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
      -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DBUILD_SHARED_LIBS=OFF "$@" >"$out.cmake.log" 2>&1
    cmake --build "$out" --target llama-batched-bench -j "$(nproc)" >"$out.build.log" 2>&1
  fi
  echo "$label=$out/bin/llama-batched-bench"
}

if [ -z "${BATCHED_BENCH:-}" ]; then
  echo "building llama-batched-bench from node-llama-cpp's llama.cpp source in $LLAMA_BUILD_DIR ..." >&2
  mkdir -p "$LLAMA_BUILD_DIR"
  BATCHED_BENCH=""
  for b in ${BUILDS:-omp noomp}; do
    if [ "$b" = noomp ]; then BATCHED_BENCH="$BATCHED_BENCH $(build_batched_bench noomp -DGGML_OPENMP=OFF)"
    else BATCHED_BENCH="$BATCHED_BENCH $(build_batched_bench omp)"; fi
  done
fi

# Runs a command and writes its involuntary context switches (getrusage of the child) to $WORK/bb.rusage.
if command -v python3 >/dev/null; then
  rusage() { python3 -c 'import resource,subprocess,sys; import time; t=time.time(); r=subprocess.run(sys.argv[2:]); u=resource.getrusage(resource.RUSAGE_CHILDREN); open(sys.argv[1],"w").write("%d %.2f\n" % (u.ru_nivcsw, (u.ru_utime+u.ru_stime)/(time.time()-t))); sys.exit(r.returncode)' "$WORK/bb.rusage" "$@"; }
else
  rusage() { echo nan nan >"$WORK/bb.rusage"; "$@"; }
fi

mean() { "$NODE" -e 'const v=process.argv.slice(1).map(Number); console.log((v.reduce((a,b)=>a+b,0)/v.length).toFixed(1))' "$@"; }

echo "model: $MODEL"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "prompt $PROMPT, generate $GEN tokens per sequence, $REPS repetitions, node $("$NODE" --version)"
echo
header="round fa threads seqs"
# bb-cpus: llama-batched-bench's CPU time over its wall time (model loading included).
for bb in $BATCHED_BENCH; do header="$header bb-${bb%%=*} bb-preempt/step bb-cpus"; done
# cpus: the worker's CPU time over wall time; preempt/step: involuntary context switches of all its
# threads per step; js/other-ms/step: run time of its long-lived threads (other = libuv's pool,
# whose thread runs ggml's thread 0, and V8's helpers), see DecodeProfile in llama-protocol.ts.
# threads-ms/step: run time per step of its busiest long-lived threads, busiest first.
for d in $DISPATCH; do header="$header nlc-$d calls/step in-decode sample-ms/step cpus preempt/step js-ms/step other-ms/step threads-ms/step"; done
for d in $DISPATCH; do for bb in $BATCHED_BENCH; do header="$header $d/${bb%%=*}"; done; done
echo "$header" | tr ' ' '\t'

declare -A ref=() ours=()
for round in $(seq "$ROUNDS"); do
for fa in $FA; do
for t in $THREADS; do
  for s in $SEQUENCES; do
    row="$round $fa $t $s"
    fa_ours=(); [ "$fa" = auto ] || fa_ours=(--flash-attention "$fa")
    for bb in $BATCHED_BENCH; do
      label=${bb%%=*}; bin=${bb#*=}
      speeds=(); preempt=(); bbcpus=()
      for _ in $(seq "$REPS"); do
        rusage "$bin" -m "$MODEL" -t "$t" -tb "$t" -npl "$s" -npp "$PROMPT" -ntg "$GEN" -c $((s * (PROMPT + GEN) + 256)) \
          -b 512 -ub 512 -fa "$fa" --output-format jsonl 2>/dev/null | grep '"speed_tg"' | tail -1 >"$WORK/bb.json" || true
        read -r p c <"$WORK/bb.rusage" || true; preempt+=("$p"); bbcpus+=("$c")
        # (Its result line goes missing when stderr is redirected to a file, hence /dev/null.)
        if [ -s "$WORK/bb.json" ]; then speeds+=("$(json "$WORK/bb.json" 'd.speed_tg')"); else
          echo "$label failed at t=$t s=$s; the end of its output:" >&2
          "$bin" -m "$MODEL" -t "$t" -tb "$t" -npl "$s" -npp "$PROMPT" -ntg "$GEN" -c $((s * (PROMPT + GEN) + 256)) \
            -b 512 -ub 512 -fa "$fa" --output-format jsonl 2>&1 | tail -5 >&2 || true
        fi
      done
      if [ ${#speeds[@]} -gt 0 ]; then ref[$label]=$(mean "${speeds[@]}"); else ref[$label]=failed; fi
      # Per step of the whole run (prompt steps are few; llama-batched-bench runs GEN steps once).
      row="$row ${ref[$label]} $("$NODE" -e 'const v=process.argv.slice(2).map(Number); console.log((v.reduce((a,b)=>a+b,0)/v.length/Number(process.argv[1])).toFixed(2))' "$GEN" "${preempt[@]}") $(mean "${bbcpus[@]}")"
    done
    for d in $DISPATCH; do
      mode=${d%%@*}; nodeargs=""; [ "$mode" = "$d" ] || nodeargs=$(echo "${d#*@}" | tr ',' ' ')
      PARATUNE_WORKER_NODE_ARGS="$nodeargs" PARATUNE_LLAMA_PROFILE=1 "$NODE" "$CLI" bench --model "$MODEL" --threads "$t" --sequences "$s" \
        --prompt-tokens "$PROMPT" --gen-tokens "$GEN" --reps "$REPS" --dispatch "$mode" "${fa_ours[@]}" --json >"$WORK/nlc.json" || true
      ours[$d]=$(json "$WORK/nlc.json" 'd.measurement.status==="ok" ? d.measurement.metrics.decodeTps.toFixed(1) : "failed"')
      # llama_decode calls per generated token step (1.00 = every step is one batch of all sequences).
      calls=$(json "$WORK/nlc.json" 'd.measurement.metrics.profileDecodeCalls===undefined ? "-" : (d.measurement.metrics.profileDecodeCalls / (d.measurement.samples.length * '"$GEN"')).toFixed(2)')
      # Share of the timed wall time spent inside llama_decode, and the sampling wait per step.
      indecode=$(json "$WORK/nlc.json" 'd.measurement.metrics.profileWallMs ? (100*d.measurement.metrics.profileDecodeMs/d.measurement.metrics.profileWallMs).toFixed(0)+"%" : "-"')
      sampling=$(json "$WORK/nlc.json" 'd.measurement.metrics.profileSampleMs===undefined ? "-" : (d.measurement.metrics.profileSampleMs / d.measurement.metrics.profileDecodeCalls).toFixed(2)')
      steps='(d.measurement.metrics.profileDecodeCalls||NaN)'
      cpus=$(json "$WORK/nlc.json" '(d.measurement.metrics.profileCpuMs/d.measurement.metrics.profileWallMs).toFixed(1)')
      preempts=$(json "$WORK/nlc.json" '(d.measurement.metrics.profileInvoluntarySwitches/'"$steps"').toFixed(2)')
      js=$(json "$WORK/nlc.json" '(d.measurement.metrics.profileJsRunMs/'"$steps"').toFixed(2)')
      other=$(json "$WORK/nlc.json" '(d.measurement.metrics.profileOtherRunMs/'"$steps"').toFixed(2)')
      ranked=$(json "$WORK/nlc.json" '[1,2,3,4,5,6].map((r)=>((d.measurement.metrics["profileThread"+r+"RunMs"]??NaN)/'"$steps"').toFixed(1)).join("/")')
      row="$row ${ours[$d]} $calls $indecode $sampling $cpus $preempts $js $other $ranked"
    done
    for d in $DISPATCH; do
      for bb in $BATCHED_BENCH; do
        label=${bb%%=*}
        row="$row $("$NODE" -e 'const [a,b]=process.argv.slice(1).map(Number); console.log(Number.isFinite(a)&&b>0 ? (100*a/b).toFixed(0)+"%" : "-")' "${ours[$d]}" "${ref[$label]}")"
      done
    done
    echo "$row" | tr ' ' '\t'
  done
done
done
done
