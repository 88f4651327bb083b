#!/usr/bin/env bash
# On the GPU machine: Posewarp's paper preset trained with the lite init's recipe at LR
# (default 1e-4) for SECONDS at most, then scored beside v2 and nearest-shot on six held-out
# synthetic people and tfjs_pose_squats (docs/RESULTS.md "The Posewarp paper preset").
# Carry: gpu/bin/metapix.xz, gpu/models, gpu/data.
#   LR=1e-5 SECONDS=150 bash scripts/gpu/paper-preset.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/gpu/env.sh
t synth
"$B/metapix" -q synth --out /tmp/w/train --prepared --identities 24 --seconds 6 --fps 15 --size 256x256 --seed 1
"$B/metapix" -q synth --out /tmp/w/held --prepared --identities 6 --seconds 6 --fps 15 --size 256x256 --seed 2
t pretrain
timeout -s INT "${SECONDS_MAX:-150}" "$B/metapix" pretrain /tmp/w/train --arch posewarp --preset paper \
  --frames-per-identity 20 --steps 4000 --batch 4 --lr "${LR:-1e-4}" --device cuda --checkpoint-every 1000 \
  --out /tmp/w/paper.safetensors 2>&1 | tr '\r' '\n' | grep -v '^\s*$' | awk 'NR % 40 == 1 || /wrote|error/'
t eval
timeout -s INT 120 "$B/metapix" eval /tmp/w/held gpu/data/tfjs_pose_squats --init paper=/tmp/w/paper.safetensors \
  --init v2=posewarp --init copy=nearest-shot --shots 5 --steps 0,20 --pck --device cuda \
  --out "$R/paper-eval.json" 2>&1 | grep -v cells/s
t done
