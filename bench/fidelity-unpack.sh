#!/usr/bin/env bash
# Unpacks .device-carry/fid/ (made by bench/fidelity-pack.sh) into /tmp/fid and the repository root:
# /tmp/fid/bin/node, /tmp/fid/llama.cpp, and dist/, node_modules/ here.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p /tmp/fid/bin
xz -dc "$ROOT/.device-carry/fid/node.xz" >/tmp/fid/bin/node && chmod +x /tmp/fid/bin/node
xz -dc "$ROOT/.device-carry/fid/dist.tar.xz" | tar -C "$ROOT" -xf -
xz -dc "$ROOT/.device-carry/fid/node_modules.tar.xz" | tar -C "$ROOT" -xf -
xz -dc "$ROOT/.device-carry/fid/llama-src.tar.xz" | tar -C /tmp/fid -xf -
/tmp/fid/bin/node --version
