#!/usr/bin/env bash
# Trains the shipped default avatar, models/default-avatar.safetensors (models/README.md):
# the demo's synthetic dancer (our own renderer, no footage) in eight dances, learned by
# metapix personalize with a long budget. Minutes on one GPU; hours on a CPU.
#
#   models/train-default-avatar.sh [BIN_DIR] [OUT]
# BIN_DIR holds the metapix binary (default target/release); on the GPU machine build it
# with --no-default-features (no GStreamer needed) and put libtorch on LD_LIBRARY_PATH.
set -euo pipefail
BIN=${1:-target/release}
OUT=${2:-models/default-avatar.safetensors}
STEPS=${STEPS:-16000}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$BIN/metapix" -q synth --out "$WORK" --prepared --size 256x256 --seconds 20 --fps 30 --dances 8
"$BIN/metapix" -q personalize "$WORK/identity-000" --preset lite --shots 3200 --steps "$STEPS" \
    --batch 16 --gan --lr 2e-4 --out "$OUT"
