#!/usr/bin/env bash
# Learns the shipped Posewarp init (models/posewarp-init-lite.safetensors, issue 12): joint
# training of Posewarp lite on pairs of frames of 24 synthetic people (our renderer; no
# footage), L1 alone, in two stages:
#   1. 3000 steps from zero heads (the part warp), before prepared targets carried person
#      masks: that stage's script and code are this repository at commit 0242789, and the
#      file it wrote is that commit's models/posewarp-init-lite.safetensors (49 minutes on
#      two CPU cores);
#   2. this script: 1000 more steps from stage 1, now that every synthetic target carries
#      the renderer's exact person masks, so that the mask U-Net learns on top of the
#      segmentation prior that real targets now have (about 17 minutes on two CPU cores).
#
#   models/train-posewarp-init.sh [BIN_DIR] [OUT]
# BIN_DIR holds the metapix binary (default target/release). Run inside the git checkout.
set -euo pipefail
BIN=${1:-target/release}
OUT=${2:-models/posewarp-init-lite.safetensors}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
M="$BIN/metapix"
git show 0242789:models/posewarp-init-lite.safetensors >"$WORK/stage1.safetensors"
"$M" -q synth --out "$WORK/train" --prepared --identities 24 --seconds 6 --fps 15 --size 256x256 --seed 1
# Each step: 4 frames, each rendered from another frame of the same person.
"$M" -q pretrain "$WORK/train" --arch posewarp --init "$WORK/stage1.safetensors" \
    --frames-per-identity 20 --steps 1000 --batch 4 --lr 5e-4 \
    --device cpu --checkpoint-every 100 --out "$OUT"
