#!/usr/bin/env bash
# Packs what bench/fidelity-vs-batched-bench.sh needs on a machine that has no Node.js or npm
# (cmake, a C++ compiler and xz are enough there): the node binary, the built dist/, the runtime part
# of node_modules (CPU binaries only) and node-llama-cpp's llama.cpp source. Writes .device-carry/fid/ (about
# 40 MB; .device-carry/ is git-ignored). On the other machine, from the repository root:
#   bench/fidelity-unpack.sh && PATH=/tmp/fid/bin:$PATH LLAMA_SRC=/tmp/fid/llama.cpp bench/fidelity-vs-batched-bench.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/.device-carry/fid"
mkdir -p "$OUT"
cd "$ROOT"
[ -f dist/src/workloads/llama-worker.js ] || { echo "build first: npm run build" >&2; exit 1; }
xz -T0 -6 -c "$(command -v node)" >"$OUT/node.xz"
tar -cf - dist bin package.json | xz -T0 -6 >"$OUT/dist.tar.xz"
tar --exclude='node_modules/@node-llama-cpp/linux-x64-*' --exclude='node_modules/@node-llama-cpp/linux-arm*' \
  --exclude='node_modules/@node-llama-cpp/linux-riscv*' --exclude=node_modules/node-llama-cpp/llama/gitRelease.bundle \
  --exclude=node_modules/typescript --exclude=node_modules/vite --exclude=node_modules/vitest \
  --exclude='node_modules/*esbuild' --exclude='node_modules/*rollup' --exclude=node_modules/@types \
  --exclude='*.map' --exclude='*.d.ts' --exclude=node_modules/.cache -cf - node_modules | xz -T0 -6 >"$OUT/node_modules.tar.xz"
SRC=$(mktemp -d)
trap 'rm -rf "$SRC"' EXIT
git clone -q node_modules/node-llama-cpp/llama/gitRelease.bundle "$SRC/llama.cpp"
tar -C "$SRC" --exclude=.git --exclude='llama.cpp/models' --exclude='llama.cpp/docs' -cf - llama.cpp | xz -T0 -6 >"$OUT/llama-src.tar.xz"
ls -la "$OUT"
