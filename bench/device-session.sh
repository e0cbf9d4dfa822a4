#!/usr/bin/env bash
# One driver for the many-core device machine (no Node.js, no npm there): runs the stages named
# on the command line and leaves every result in $OUT, so that what a cut-off call measured still
# comes back. Needs .device-carry/fid/ (bench/fidelity-pack.sh) carried along.
#
#   bash bench/device-session.sh unpack probe fidelity landscape
#
# Stages:
#   unpack     node, dist/ and node_modules/ from .device-carry/fid (skipped when already there)
#   probe      paratune probe --json (bandwidth measured, no cache) and lscpu -> $OUT/hardware.json
#   build      llama-batched-bench from node-llama-cpp's llama.cpp source: FID_BUILDS of prebuilt (the
#              variant build relinked onto node-llama-cpp's prebuilt libraries), noomp (native,
#              no OpenMP), omp (native, llama.cpp's default) and variant (like node-llama-cpp's prebuilt)
#   fidelity   bench/fidelity-vs-batched-bench.sh with FID_* settings -> $OUT/fidelity.tsv
#   diagnose   bench/fidelity-diagnose.sh (DIAG_THREADS x DIAG_SEQS) -> $OUT/diagnose.txt
#   landscape  bench/record-landscape-device.sh, resumable across calls (LANDSCAPE_DIR keeps it)
# Settings: OUT (default /tmp/device-out), NAME (landscape name), LANDSCAPE_DIR (default /tmp/landscapes),
#   LLAMA_SRC (default /tmp/fid/llama.cpp), LLAMA_BUILD_DIR (default /tmp/paratune-llama.cpp),
#   VARIANT_FLAGS (the variant build's GGML_* features), TIME_LIMIT (landscape seconds), FID_THREADS, FID_SEQUENCES, FID_FA, FID_REPS, FID_ROUNDS, FID_BUILDS.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
export PATH=/tmp/fid/bin:$PATH
LLAMA_BUILD_DIR=${LLAMA_BUILD_DIR:-/tmp/paratune-llama.cpp}
mkdir -p "$LLAMA_BUILD_DIR"
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$OUT/session.log" >&2; }

for stage in "$@"; do
  log "stage $stage (load $(cut -d' ' -f1-3 /proc/loadavg); busiest: $(ps -eo pcpu=,comm= --sort=-pcpu | head -3 | tr -s ' ' | paste -sd,))"
  case $stage in
    unpack)
      if [ -x /tmp/fid/bin/node ] && [ -f dist/src/workloads/llama-worker.js ] && [ -d node_modules/node-llama-cpp ]; then
        log "already unpacked"
      else
        bash bench/fidelity-unpack.sh >>"$OUT/session.log" 2>&1
      fi
      ;;
    probe)
      lscpu >"$OUT/lscpu.txt"
      node dist/bench/models-probe.js >"$OUT/hardware.json"
      node -e 'const h=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); const b=h.bandwidth?.points??h.bandwidth; console.log(JSON.stringify(b))' "$OUT/hardware.json" | tee -a "$OUT/session.log"
      ;;
    build)
      builds=${FID_BUILDS:-noomp omp}
      # prebuilt relinks the variant build's own objects, so variant is built first when asked for.
      case " $builds " in *" prebuilt "*) builds="variant ${builds//variant/}" ;; esac
      for b in $builds; do
        out="$LLAMA_BUILD_DIR/build-$b"
        [ -x "$out/bin/llama-batched-bench" ] && continue
        if [ "$b" = prebuilt ]; then
          # "prebuilt": llama-batched-bench running on node-llama-cpp's own prebuilt libllama, libggml
          # and CPU backends (same llama.cpp release): the machine code paratune's workers run,
          # without Node.js around it. The program and its llama-common are the variant build's
          # objects, relinked with its own link line, the static llama/ggml libraries swapped for
          # the prebuilt shared ones. libstdc++ goes in statically: the device's compiler can be
          # newer than its system libstdc++, and a shared llama-common built here failed to load
          # there (undefined _ZNSt8ios_base4Init11_S_refcountE).
          vb="$LLAMA_BUILD_DIR/build-variant/tools/batched-bench"
          mkdir -p "$out/run" "$out/bin"; run=$(realpath "$out/run")
          cp node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/lib*.so "$run/"
          # Their sonames, whatever version the installed node-llama-cpp ships.
          so() { find "$run" -maxdepth 1 -name "$1" -printf '%f\n' | head -1; }
          libllama=$(so 'libllama.v*.so'); libggml=$(so 'libggml.v*.so'); libbase=$(so 'libggml-base*.so')
          [ -n "$libllama" ] && [ -n "$libggml" ] && [ -n "$libbase" ] || { echo "prebuilt: node-llama-cpp's libllama/libggml not found" >&2; exit 1; }
          [ -f "$vb/CMakeFiles/llama-batched-bench.dir/link.txt" ] || { echo "prebuilt: needs the variant build's Makefile link line (not Ninja)" >&2; exit 1; }
          link=$(sed -e "s# [^ ]*src/libllama\.a# $run/$libllama#g" -e "s# [^ ]*ggml/src/libggml\.a# $run/$libggml#g" \
            -e "s# [^ ]*libggml-cpu\.a##g" -e "s# [^ ]*libggml-base\.a# $run/$libbase#g" -e "s#-o [^ ]*#-o $run/llama-batched-bench#" \
            "$vb/CMakeFiles/llama-batched-bench.dir/link.txt")
          # Had a pattern missed, "prebuilt" would quietly be the variant build again.
          if grep -qE '(src/libllama|/libggml(-cpu|-base)?)\.a' <<<"$link"; then echo "prebuilt: static llama/ggml left in the link line: $link" >&2; exit 1; fi
          (cd "$vb" && eval "$link -static-libstdc++ -static-libgcc -pthread '-Wl,-rpath,\$ORIGIN'") >"$out.build.log" 2>&1 || { tail -20 "$out.build.log"; exit 1; }
          for need in "$libllama" "$libggml" "$libbase"; do
            readelf -d "$run/llama-batched-bench" | grep -q "NEEDED.*\[$need\]" || { echo "prebuilt: the program does not load $need" >&2; exit 1; }
          done
          # The CPU backend variants are found next to the executable, like node-llama-cpp finds them.
          ln -sf "$run/llama-batched-bench" "$out/bin/llama-batched-bench"
          readelf -d "$run/llama-batched-bench" | grep -E 'NEEDED|RUNPATH' | tee -a "$OUT/session.log" >&2
          log "built $b"
          continue
        fi
        flags=(); [ "$b" = noomp ] && flags=(-DGGML_OPENMP=OFF)
        # "variant": built the way node-llama-cpp's prebuilt x86 backend for this CPU is (GGML_NATIVE
        # off, an explicit feature list; default sapphirerapids'), without OpenMP like it.
        if [ "$b" = variant ]; then
          flags=(-DGGML_NATIVE=OFF -DGGML_OPENMP=OFF)
          for f in ${VARIANT_FLAGS:-SSE42 AVX F16C FMA AVX2 BMI2 AVX512 AVX512_VBMI AVX512_VNNI AVX512_BF16 AMX_TILE AMX_INT8}; do flags+=("-DGGML_$f=ON"); done
        fi
        cmake -S "${LLAMA_SRC:-/tmp/fid/llama.cpp}" -B "$out" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
          -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DBUILD_SHARED_LIBS=OFF -DGGML_CUDA=OFF "${flags[@]}" >"$out.cmake.log" 2>&1
        cmake --build "$out" --target llama-batched-bench -j "$(nproc)" >"$out.build.log" 2>&1 || { tail -20 "$out.build.log"; exit 1; }
        log "built $b"
      done
      ;;
    fidelity)
      bb=""
      for b in ${FID_BUILDS:-noomp omp}; do bb="$bb $b=$LLAMA_BUILD_DIR/build-$b/bin/llama-batched-bench"; done
      BATCHED_BENCH="$bb" THREADS="${FID_THREADS:-8 16}" SEQUENCES="${FID_SEQUENCES:-1 4 16}" FA="${FID_FA:-auto}" \
        REPS="${FID_REPS:-3}" ROUNDS="${FID_ROUNDS:-1}" DISPATCH="${FID_DISPATCH:-lockstep}" \
        bash bench/fidelity-vs-batched-bench.sh 2>>"$OUT/session.log" | tee -a "$OUT/fidelity.tsv"
      ;;
    diagnose)
      THREADS="${DIAG_THREADS:-8}" SEQS="${DIAG_SEQS:-16}" bash bench/fidelity-diagnose.sh 2>>"$OUT/session.log" | tee -a "$OUT/diagnose.txt"
      ;;
    landscape)
      mkdir -p "${LANDSCAPE_DIR:-/tmp/landscapes}"
      LANDSCAPE_DIR=${LANDSCAPE_DIR:-/tmp/landscapes} RESUME=1 bash bench/record-landscape-device.sh 2>>"$OUT/session.log" | tee -a "$OUT/landscape.txt" || true
      cp "${LANDSCAPE_DIR:-/tmp/landscapes}"/*.jsonl "${LANDSCAPE_DIR:-/tmp/landscapes}"/*.meta.json "$OUT/" 2>/dev/null || true
      ;;
    *) echo "device-session: unknown stage $stage" >&2; exit 2 ;;
  esac
done
log "done"
