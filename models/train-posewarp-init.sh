#!/usr/bin/env bash
# Learns the shipped Posewarp init (models/posewarp-init-lite.safetensors, issue 12): joint
# training of Posewarp lite on pairs of frames of 24 synthetic people (our renderer; no
# footage), L1 alone. About 45 minutes on two CPU cores.
#
#   models/train-posewarp-init.sh [BIN_DIR] [OUT]
# BIN_DIR holds the metapix binary (default target/release).
set -euo pipefail
BIN=${1:-target/release}
OUT=${2:-models/posewarp-init-lite.safetensors}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
M="$BIN/metapix"
"$M" -q synth --out "$WORK/train" --prepared --identities 24 --seconds 6 --fps 15 --size 256x256 --seed 1
# Each step: 4 frames, each rendered from another frame of the same person.
"$M" -q pretrain "$WORK/train" --arch posewarp --frames-per-identity 20 --steps 3000 --batch 4 --lr 5e-4 \
    --device cpu --checkpoint-every 100 --out "$OUT"
