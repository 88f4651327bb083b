#!/usr/bin/env bash
# Call 2: after the shim fix, the rows past 16 streams; the pruned pose model against the full one.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p /tmp/models-full
O=$OUT
( source scripts/gpu/env.sh >/dev/null 2>&1; true )
ln -sf /tmp/models/pose_detection.onnx /tmp/models/pose_landmark_full.onnx /tmp/models-full/
OUT=$O/pruned LITE=16,20,24 POSEWARP=24 PAPER= GRAPHS_OFF= MODES=serve,processes bash scripts/gpu/streams.sh
OUT=$O/full METAPIX_MODELS=/tmp/models-full LITE=20,24 POSEWARP= PAPER= GRAPHS_OFF= MODES=serve bash scripts/gpu/streams.sh
tail -3 /tmp/b/*.log 2>/dev/null | head -5
