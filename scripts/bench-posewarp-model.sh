#!/usr/bin/env bash
# A personalized Posewarp lite checkpoint for the speed benchmarks: a synthetic person,
# 5 shots, no steps (the weights do not change the time; the init's shape does).
#   scripts/bench-posewarp-model.sh BIN_DIR WORK_DIR OUT.safetensors [INIT]
# INIT: a Posewarp init file (default: the built-in `posewarp`).
set -euo pipefail
BIN=$1 WORK=$2 OUT=$3 INIT=${4:-posewarp}
[ -d "$WORK/targets" ] ||
  "$BIN/metapix" synth --out "$WORK/targets" --identities 2 --seconds 4 --fps 15 --size 256x256 --seed 7 --prepared -q
"$BIN/metapix" personalize "$WORK/targets/identity-001" --init "$INIT" --shots 5 --steps 0 --device cpu \
  --out "$OUT" 2>/dev/null
