#!/usr/bin/env bash
# On the GPU machine: `metapix serve` with 4 Posewarp lite streams on CUDA for SOAK seconds
# (default 570: a call's limit is 600), first and last minute side by side.
# Carry: gpu/bin/metapix.xz, gpu/models.
#   bash scripts/gpu/soak.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/gpu/env.sh
"$B/metapix" -q synth --out /tmp/w/t256 --prepared --identities 1 --seconds 2 --fps 15 --size 256x256 --seed 3
"$B/metapix" personalize /tmp/w/t256/identity-000 --arch posewarp --steps 0 --device cuda \
  --out /tmp/w/posewarp.safetensors -q
python3 scripts/bench-serve.py --device cuda --model /tmp/w/posewarp.safetensors --label posewarp-lite-256 \
  --streams 4 --seconds "${SOAK:-570}" --warmup 0 --soak --out "$R"
