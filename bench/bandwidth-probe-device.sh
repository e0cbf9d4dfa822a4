#!/usr/bin/env bash
# Runs the probe's parts on a machine that has node and a built dist/ but no node_modules (the GPU
# device machines): CPU, limits, memory, GPUs through the real nvidia-smi, fingerprint, and the
# bandwidth curve; prints the profile as JSON and how long each part took. With a folder argument
# it also saves the raw nvidia-smi / lscpu outputs there, as fixtures for the parsers.
#
#   bench/bandwidth-probe-device.sh [save-dir]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SAVE="${1:-}"
[ -f "$ROOT/dist/probes/gpu.js" ] || { echo "dist/ is missing: run npx tsc -p . first" >&2; exit 1; }
node --input-type=module -e "
import { kernelFiles } from '$ROOT/dist/probes/sysfs.js';
import { readCpu } from '$ROOT/dist/probes/cpu.js';
import { readLimits } from '$ROOT/dist/probes/limits.js';
import { readMemory } from '$ROOT/dist/probes/memory.js';
import { readGpus } from '$ROOT/dist/probes/gpu.js';
import { fingerprint, fingerprintInputs } from '$ROOT/dist/probes/fingerprint.js';
import { measureBandwidth } from '$ROOT/dist/probes/bandwidth.js';
const fs = kernelFiles('/');
const t0 = performance.now();
const gpuP = readGpus();
const { info: cpu, l3TotalBytes } = await readCpu(fs);
const limits = readLimits(fs);
const memory = readMemory(fs);
const g = await gpuP;
const t1 = performance.now();
const print = fingerprint(fingerprintInputs(cpu, limits, memory, g.gpus));
const bandwidth = await measureBandwidth({ maxThreads: Math.floor(limits.cpus + 1e-9), l3TotalBytes, availableBytes: memory.availableBytes });
const t2 = performance.now();
console.log(JSON.stringify({ cpu, limits, memory, bandwidth, gpus: g.gpus, gpuLinks: g.links, warnings: g.warnings, fingerprint: print }, null, 1));
console.log('probe without bandwidth: ' + ((t1 - t0) / 1000).toFixed(3) + ' s; bandwidth: ' + ((t2 - t1) / 1000).toFixed(2) + ' s; load ' + (await import('node:os')).loadavg()[0].toFixed(2));
"
if [ -n "$SAVE" ]; then
  mkdir -p "$SAVE"
  Q="index,name,uuid,memory.total,memory.free,compute_cap,driver_version,pcie.link.gen.current,pcie.link.width.current,pcie.link.gen.max,pcie.link.width.max"
  nvidia-smi --query-gpu="$Q" --format=csv,noheader,nounits > "$SAVE/nvidia-smi-query-noheader.csv" 2>&1 || true
  nvidia-smi topo -m > "$SAVE/nvidia-smi-topo.txt" 2>&1 || true
  nvidia-smi -q -x > "$SAVE/nvidia-smi-q.xml" 2>&1 || true
  lscpu > "$SAVE/lscpu.txt" 2>&1 || true
  lscpu -p > "$SAVE/lscpu-p.txt" 2>&1 || true
  cat /proc/self/cgroup > "$SAVE/proc-self-cgroup.txt" 2>&1 || true
  grep cgroup /proc/self/mountinfo > "$SAVE/mountinfo-cgroup.txt" 2>&1 || true
  echo "raw outputs saved in $SAVE"
fi
