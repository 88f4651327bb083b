#!/usr/bin/env bash
# Learns the shipped initialization and runs the benchmark of docs/RESULTS.md (issue 4):
# 64 synthetic people to learn from, 16 held out; the pretrained baseline, joint training
# taken further, Reptile as the last stage, and the same chain with that stage replaced by
# more joint training for at least the same GPU time (the equal-compute control).
# Synthetic people only (our renderer): no footage. About 25 minutes on one H200.
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
# The paper's baseline at its own budget (GAN + feature matching + L1), then more of the same.
"$M" -q pretrain "$WORK/train" --gan --steps 3000 --batch 16 --out "$OUT/pretrained.safetensors"
"$M" -q pretrain "$WORK/train" --gan --init "$OUT/pretrained.safetensors" --steps 16000 --batch 8 \
    --out "$OUT/joint-gan.safetensors"
# Joint training with the L1 loss personalization uses (147 s on an H200).
"$M" -q pretrain "$WORK/train" --init "$OUT/joint-gan.safetensors" --steps 20000 --batch 32 \
    --out "$OUT/joint.safetensors"
# metapix: Reptile from there with personalization's inner loop (L1, lr 6e-4), 16 tasks a step as
# one grouped generator, learning each layer's personalization learning rate beside the weights
# (8 query frames per task, rate step 0.05; 160 s).
"$M" -q meta-train "$WORK/train" --init "$OUT/joint.safetensors" --meta-iterations 220 \
    --meta-batch 16 --eps 0.5 --shots 5 --steps 20 --batch 8 --learn-rates --rates-lr 0.05 \
    --out "$OUT/metapix-init.safetensors"
# The equal-compute control: joint training instead of Reptile, for longer (27000 steps: about 165 s
# of training against Reptile's 159 s, measured side by side; docs/RESULTS.md round 4).
"$M" -q pretrain "$WORK/train" --init "$OUT/joint.safetensors" --steps 27000 --batch 32 \
    --out "$OUT/pretrained-long.safetensors"
INITS=(--init metapix="$OUT/metapix-init.safetensors" --init pretrained-long="$OUT/pretrained-long.safetensors"
       --init pretrained="$OUT/pretrained.safetensors" --init scratch=random)
"$M" -q eval "$WORK/held" "${INITS[@]}" --shots 5 --steps 0,10,20,30,50,100 --out "$OUT/eval-synthetic-t.json"
"$M" -q eval "$WORK/held" "${INITS[@]}" --shots 1,3,10,20 --steps 20 --out "$OUT/eval-synthetic-k.json"
