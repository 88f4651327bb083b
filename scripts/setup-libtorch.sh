#!/usr/bin/env bash
# libtorch for tch (the generator and its training), CPU part, from PyPI's torch 2.11.0 wheel
# (the only registry we reach; tch 0.24 expects exactly this version). Only the headers and
# the CPU libraries are kept, plus the two small CUDA runtime libraries libtorch_cpu links
# against. Result: $CACHE/libtorch/torch (LIBTORCH) with nvidia/cu13/lib beside it, where
# libtorch_cpu's RPATH finds them, and the CUDA runtime's headers (nvidia/cu13/include, 4 MB,
# from the runtime's wheel and nvidia-cuda-crt 13.0.88, the version torch's cuda-toolkit pins),
# which the CUDA-graph shim compiles against (src/model/cuda_graph.cpp). Idempotent: exits at
# once when the stamps are there.
set -euo pipefail
CACHE="${METAPIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metapix}"
DEST="$CACHE/libtorch"
STAMP="$DEST/.torch-2.11.0"
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# .cargo/config.toml points LIBTORCH at this link.
link() { ln -sfn "$DEST" "$REPO/.libtorch"; }
HEADERS_STAMP="$DEST/.cuda-headers-13.0.96"
DL="$CACHE/downloads/torch"
mkdir -p "$DL"
# The headers came later than the libraries: a cache from before gets them alone.
headers() {
  [ -f "$HEADERS_STAMP" ] && return
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$DL" \
    nvidia-cuda-runtime==13.0.96 nvidia-cuda-crt==13.0.88
  for wheel in "$DL"/nvidia_cuda_runtime-13.0.96-*.whl "$DL"/nvidia_cuda_crt-13.0.88-*.whl; do
    unzip -qo "$wheel" 'nvidia/cu13/include/*' -d "$DEST"
  done
  touch "$HEADERS_STAMP"
}
[ -f "$STAMP" ] && { headers; link; echo "libtorch 2.11.0: present ($DEST/torch)"; exit 0; }
echo "libtorch 2.11.0: downloading the torch wheel from PyPI (about 900 MB, once)"
python3 -m pip download -q --no-deps --only-binary=:all: -d "$DL" \
  torch==2.11.0 nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85
TMP=$(mktemp -d "$CACHE/.libtorch.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
unzip -q "$DL"/torch-2.11.0-*.whl 'torch/include/*' torch/lib/libtorch_cpu.so torch/lib/libc10.so \
  torch/lib/libtorch.so torch/lib/libgomp.so.1 -d "$TMP"
unzip -q "$DL"/nvidia_cuda_runtime-*.whl nvidia/cu13/lib/libcudart.so.13 -d "$TMP"
unzip -q "$DL"/nvidia_cuda_cupti-*.whl nvidia/cu13/lib/libcupti.so.13 -d "$TMP"
rm -rf "$DEST"
mv "$TMP" "$DEST"
trap - EXIT
touch "$STAMP"
headers
link
echo "libtorch 2.11.0: installed $DEST/torch"
