#!/usr/bin/env bash
# On the GPU machine: `metapix serve` with 4 Posewarp lite streams on CUDA for SOAK seconds
# (default 570: a call's limit is 600), first and last minute side by side.
# Carry: gpu/bin/metapix.xz, gpu/models.
#   bash scripts/gpu/soak.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/gpu/env.sh
posewarp_model
python3 scripts/bench-serve.py --device cuda --model /tmp/w/posewarp.safetensors --label posewarp-lite-256 \
  --streams 4 --seconds "${SOAK:-570}" --warmup 0 --soak --out "$R"
