#!/usr/bin/env bash
# On the GPU machine: metapix-stream end to end on CUDA, testsrc -> RTSP, read back by a real
# client (scripts/glass-to-glass.sh: gst-launch rtspsrc), with GStreamer from gpu/gst.tar.xz
# (scripts/gst-bundle.sh): the avatar at 256 and 512, and Posewarp lite at 256.
# Carry: gpu/bin/{metapix,metapix-stream-gst}.xz, gpu/gst.tar.xz, gpu/models.
#   bash scripts/gpu/glass-to-glass.sh    (not run yet: the session that wrote it had no device time left)
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/gpu/env.sh
gst-launch-1.0 --version | head -1
export METAPIX_STREAM=$B/metapix-stream-gst
posewarp_model
for size in 256 512; do
  t "avatar $size"
  scripts/glass-to-glass.sh "${SECONDS_EACH:-20}" --size "$size" --device cuda
done
t posewarp 256
scripts/glass-to-glass.sh "${SECONDS_EACH:-20}" --size 256 --device cuda --model /tmp/w/posewarp.safetensors
t done
