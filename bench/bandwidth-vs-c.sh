#!/usr/bin/env bash
# Compares paratune's bandwidth probe (WebAssembly SIMD triad on worker_threads, and the plain
# JavaScript fallback) with a C triad built here with gcc -O3 -fopenmp, on the same array size and
# thread counts, best of several repetitions each, bytes counted as STREAM counts them (24 per
# element). Needs gcc, node and a built dist/ (npx tsc -p .); no npm packages.
#
#   bench/bandwidth-vs-c.sh [rounds]     rounds: how many times to alternate C and JS (default 2)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ROUNDS="${1:-2}"
REPS="${REPS:-10}"
[ -f "$ROOT/dist/probes/bandwidth.js" ] || { echo "dist/ is missing: run npx tsc -p . first" >&2; exit 1; }
command -v gcc >/dev/null || { echo "gcc is missing" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

cat > "$TMP/triad.c" <<'C'
/* a[i] = b[i] + s*c[i] over n doubles, OpenMP static schedule; prints the best GB/s of reps. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  int reps = atoi(argv[2]);
  double *a = aligned_alloc(64, n * sizeof(double));
  double *b = aligned_alloc(64, n * sizeof(double));
  double *c = aligned_alloc(64, n * sizeof(double));
  const double s = 3.0;
  /* First touch by the thread that will use each page, as the JS probe does. */
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; i++) { a[i] = 0.0; b[i] = 1.0; c[i] = 2.0; }
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    double t0 = omp_get_wtime();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) a[i] = b[i] + s * c[i];
    double t = omp_get_wtime() - t0;
    if (t < best) best = t;
  }
  /* Read the result back so the compiler cannot drop the loop. */
  if (a[n / 2] != 7.0) { fprintf(stderr, "wrong result %f\n", a[n / 2]); return 1; }
  printf("%.2f\n", 24.0 * (double)n / best / 1e9);
  return 0;
}
C
gcc -O3 -fopenmp -o "$TMP/triad" "$TMP/triad.c"
gcc -O3 -march=native -fopenmp -o "$TMP/triad-native" "$TMP/triad.c"

# The probe's own plan for this machine: usable CPUs, L3, array size, thread counts.
cat > "$TMP/plan.mjs" <<JS
import { kernelFiles } from "$ROOT/dist/probes/sysfs.js";
import { readCpu } from "$ROOT/dist/probes/cpu.js";
import { readLimits } from "$ROOT/dist/probes/limits.js";
import { readMemory } from "$ROOT/dist/probes/memory.js";
import { arrayBytesFor, threadCounts } from "$ROOT/dist/probes/bandwidth.js";
const fs = kernelFiles("/");
const { info, l3TotalBytes } = await readCpu(fs);
const limits = readLimits(fs);
const mem = readMemory(fs);
const usable = Math.max(1, Math.floor(limits.cpus + 1e-9));
const { bytes } = arrayBytesFor(l3TotalBytes, mem.availableBytes);
console.log(JSON.stringify({ model: info.model, logical: info.logical, physical: info.physical, usable, l3TotalBytes, arrayBytes: bytes, counts: threadCounts(usable) }));
JS
cat > "$TMP/js.mjs" <<JS
import { measureBandwidth } from "$ROOT/dist/probes/bandwidth.js";
const [maxThreads, arrayBytes, reps, kernel] = process.argv.slice(2);
const bw = await measureBandwidth({ maxThreads: Number(maxThreads), l3TotalBytes: null, availableBytes: Infinity, arrayBytes: Number(arrayBytes), reps: Number(reps), kernel });
console.log(JSON.stringify(bw.curve));
JS
PLAN="$(node "$TMP/plan.mjs")"
echo "plan: $PLAN"
read -r USABLE ARRAY COUNTS < <(node -e 'const p=JSON.parse(process.argv[1]); console.log(p.usable, p.arrayBytes, p.counts.join(","))' "$PLAN")
N=$((ARRAY / 8))
echo "gcc: $(gcc --version | head -1); node: $(node --version); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "3 arrays x $((ARRAY / 1048576)) MiB, best of $REPS reps, $ROUNDS rounds (best kept), OMP_PROC_BIND unset"

declare -A C C_NATIVE WASM JSPLAIN
best() { node -e 'console.log(Math.max(...process.argv.slice(1).filter(Boolean).map(Number)).toFixed(2))' "$@"; }
for round in $(seq 1 "$ROUNDS"); do
  for t in ${COUNTS//,/ }; do
    C[$t]="$(best "${C[$t]:-0}" "$(OMP_NUM_THREADS=$t "$TMP/triad" "$N" "$REPS")")"
    C_NATIVE[$t]="$(best "${C_NATIVE[$t]:-0}" "$(OMP_NUM_THREADS=$t "$TMP/triad-native" "$N" "$REPS")")"
  done
  for kernel in wasm js; do
    CURVE="$(node "$TMP/js.mjs" "$USABLE" "$ARRAY" "$REPS" "$kernel")"
    for t in ${COUNTS//,/ }; do
      g="$(node -e 'const c=JSON.parse(process.argv[1]); console.log(c.find(p=>p.threads===Number(process.argv[2])).gbps)' "$CURVE" "$t")"
      if [ "$kernel" = wasm ]; then WASM[$t]="$(best "${WASM[$t]:-0}" "$g")"; else JSPLAIN[$t]="$(best "${JSPLAIN[$t]:-0}" "$g")"; fi
    done
  done
done

printf '\n%-8s %12s %20s %14s %12s %14s %14s\n' threads "C -O3" "C -O3 -march=native" "probe (wasm)" "plain JS" "wasm / C -O3" "wasm / native"
for t in ${COUNTS//,/ }; do
  r1="$(node -e 'console.log((process.argv[1]/process.argv[2]).toFixed(2))' "${WASM[$t]}" "${C[$t]}")"
  r2="$(node -e 'console.log((process.argv[1]/process.argv[2]).toFixed(2))' "${WASM[$t]}" "${C_NATIVE[$t]}")"
  printf '%-8s %12s %20s %14s %12s %14s %14s\n' "$t" "${C[$t]}" "${C_NATIVE[$t]}" "${WASM[$t]}" "${JSPLAIN[$t]}" "$r1" "$r2"
done
echo "(GB/s, 24 bytes per element as STREAM counts; write-allocate traffic not counted)"
