#!/usr/bin/env bash
# Learns the shipped Posewarp init (models/posewarp-init-lite.safetensors, issue 12): Posewarp
# lite on pairs of frames of synthetic people (our renderer; no footage), in three stages:
#   1. v1: 3000 steps of joint training from zero heads (the part warp), L1 alone, before
#      prepared targets carried person masks: that stage's script and code are this
#      repository at commit 0242789, and the file it wrote is that commit's
#      models/posewarp-init-lite.safetensors (49 minutes on two CPU cores);
#   2. v2: 1000 more joint steps from v1 on 24 people (seed 1) with their exact person masks,
#      so that the mask U-Net learns on top of the segmentation prior real targets have: the
#      script is this file at commit 33debb4, and its output that commit's init (17 minutes
#      on two CPU cores);
#   3. v3, this script: Reptile from v2 on 24 people v2 never saw (seed 5). Each outer
#      iteration fits a copy to each of 4 people as personalization would (K 5, T 20 steps of
#      batch 8, L1) and moves the weights toward the fitted ones by eps, 1 annealed to 0, for
#      100 iterations (132 s on an H100; hours on a 2-core CPU).
#
#   models/train-posewarp-init.sh [BIN_DIR] [OUT] [DEVICE]
# BIN_DIR holds the metapix binary (default target/release); DEVICE is cuda (default) or cpu.
# Run inside the git checkout. GPU runs are not bit-reproducible: expect the figures in
# models/README.md to within a tenth of a dB, not the same bytes.
set -euo pipefail
BIN=${1:-target/release}
OUT=${2:-models/posewarp-init-lite.safetensors}
DEVICE=${3:-cuda}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
M="$BIN/metapix"
git show 33debb4:models/posewarp-init-lite.safetensors >"$WORK/v2.safetensors"
"$M" -q synth --out "$WORK/train" --prepared --identities 24 --seconds 6 --fps 15 --size 256x256 --seed 5
"$M" -q meta-train "$WORK/train" --arch posewarp --init "$WORK/v2.safetensors" \
    --meta-iterations 100 --meta-batch 4 --eps 1 --shots 5 --steps 20 --batch 8 \
    --frames-per-identity 20 --device "$DEVICE" --checkpoint-every 5 --out "$OUT"
