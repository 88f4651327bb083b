#!/usr/bin/env bash
# Learns the shipped initializations and runs the benchmark of docs/RESULTS.md (issue 4):
# 64 synthetic people to learn from, 16 held out, the pretrained baseline, Reptile from it,
# the baseline trained further for the same compute, and metapix eval on the held-out ones.
# Synthetic people only (our renderer): no footage. About 20 minutes on one H200.
#
#   models/train-metapix-init.sh [BIN_DIR] [OUT_DIR]
# BIN_DIR holds the metapix binary (default target/release); on the GPU machine build it
# with --no-default-features and put libtorch on LD_LIBRARY_PATH.
set -euo pipefail
BIN=${1:-target/release}
OUT=${2:-out/init}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"
M="$BIN/metapix"
"$M" -q synth --out "$WORK/train" --prepared --identities 64 --seconds 6 --fps 15 --size 256x256 --seed 1
"$M" -q synth --out "$WORK/held" --prepared --identities 16 --seconds 6 --fps 15 --size 256x256 --seed 2
"$M" -q pretrain "$WORK/train" --steps 3000 --batch 16 --out "$OUT/pretrained.safetensors"
"$M" -q meta-train "$WORK/train" --init "$OUT/pretrained.safetensors" --meta-iterations 200 \
    --meta-batch 4 --shots 5 --steps 20 --batch 8 --out "$OUT/metapix-init.safetensors"
# The equal-compute control: meta-training ran 200 x 4 tasks x 20 steps of batch 8.
"$M" -q pretrain "$WORK/train" --init "$OUT/pretrained.safetensors" --steps 16000 --batch 8 \
    --out "$OUT/pretrained-long.safetensors"
"$M" -q eval "$WORK/held" --init metapix="$OUT/metapix-init.safetensors" \
    --init pretrained="$OUT/pretrained.safetensors" --init pretrained-long="$OUT/pretrained-long.safetensors" \
    --init scratch=random --shots 5 --steps 0,10,20,50,100 --out "$OUT/eval-synthetic.json"
