#!/usr/bin/env bash
# On the GPU machine: Posewarp's generate stage with the pose encoded on the host (the build
# carried in gpu/old, from before the GPU drew it) against drawn on the GPU (this build), side
# by side: 1 and 8 metapix-stream processes, testsrc -> null (scripts/bench-serve.py). Then 6 s
# of this build's stream on CUDA into $OUT/posewarp-cuda.mp4, beside its driving frames.
# Carry: gpu/bin/metapix-stream-gst.xz, gpu/old/metapix-stream-gst.xz, gpu/gst.tar.xz,
# gpu/models, gpu/posewarp.safetensors (scripts/gpu/env.sh's posewarp_model, made here).
#   bash scripts/gpu/pose-on-gpu.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/gpu/env.sh
mkdir -p /tmp/b-old
xz -dc gpu/old/metapix-stream-gst.xz >/tmp/b-old/metapix-stream && chmod +x /tmp/b-old/metapix-stream
posewarp_model
for build in old:/tmp/b-old new:/tmp/b; do
  t "${build%%:*}"
  python3 scripts/bench-serve.py --bin-dir "${build#*:}" --modes processes --device cuda \
    --model /tmp/w/posewarp.safetensors --streams "${STREAMS:-1,8}" --seconds 8 --warmup 3 \
    --label "posewarp-lite-256-${build%%:*}" --out "$R"
done
t record
timeout --foreground -s INT 8 "$B/metapix-stream" testsrc "$R/posewarp-cuda.mp4" --model /tmp/w/posewarp.safetensors \
  --device cuda --view side-by-side -q
ls -la "$R"
t done
