#!/usr/bin/env bash
# Relinks the sm_90 CUDA backend that `../shared/device/pack.sh --cuda` puts in .device-carry so
# that it loads the libggml-base.so shipped beside it. As built, it asks for libggml-base.so.0 (its
# build tree's soname) under a RUNPATH of that build tree; on the device node-llama-cpp's binary
# test then fails and it falls back to the CPU without an error. Run here (patchelf: Debian's
# `apt-get install patchelf`), after pack.sh --cuda and before the device call.
set -euo pipefail
so_xz=.device-carry/libggml-cuda.so.xz
[ -f "$so_xz" ] || { echo "$so_xz is missing: run bash ../shared/device/pack.sh --cuda first" >&2; exit 2; }
command -v patchelf >/dev/null || { echo "patchelf is missing: apt-get install patchelf" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
xz -d -c "$so_xz" >"$tmp/libggml-cuda.so"
patchelf --replace-needed libggml-base.so.0 libggml-base.so --set-rpath '$ORIGIN' "$tmp/libggml-cuda.so"
readelf -d "$tmp/libggml-cuda.so" | grep -E 'NEEDED.*ggml|RUNPATH'
xz -T0 -6 -c "$tmp/libggml-cuda.so" >"$so_xz"
echo "relinked: $(du -h "$so_xz" | cut -f1) $so_xz"
