#!/usr/bin/env bash
# On the GPU machine: streams per GPU, one serve process against N metapix-stream processes
# (scripts/bench-serve.py, steady state), for Pose2Im lite at 256 (the avatar), Posewarp lite
# at 256 and Pose2Im paper at 512 (random weights), and CUDA graphs off once. Rows go to
# $OUT/bench-serve.jsonl (plot: scripts/plot-serve.py). LITE, POSEWARP, PAPER: the stream counts.
# Carry: gpu/bin/{metapix,metapix-stream}.xz, gpu/models.
#   bash scripts/gpu/streams.sh           (docs/BENCHMARKS.md "Streams per GPU")
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/gpu/env.sh
t models
posewarp_model
[ -n "${PAPER-x}" ] && "$B/metapix" -q synth --out /tmp/w/t512 --prepared --identities 1 --seconds 2 --fps 15 --size 512x512 --seed 3
[ -n "${PAPER-x}" ] && "$B/metapix" personalize /tmp/w/t512/identity-000 --arch pose2im --preset paper --steps 0 --device cuda \
  --out /tmp/w/paper512.safetensors -q
# MODES: of serve, batched (serve with batch_ms), processes.
bs() { python3 scripts/bench-serve.py --device cuda --seconds 8 --warmup 3 --modes "${MODES:-serve,processes}" --out "$R" "$@"; }
# LITE, POSEWARP or PAPER set empty skips that generator.
[ -n "${LITE-x}" ] && { t lite; bs --view gen --label pose2im-lite-256 --streams "${LITE:-1,8,16,24}"; }
[ -n "${POSEWARP-x}" ] && { t posewarp; bs --model /tmp/w/posewarp.safetensors --label posewarp-lite-256 --streams "${POSEWARP:-1,8,16}"; }
[ -n "${PAPER-x}" ] && { t paper; bs --model /tmp/w/paper512.safetensors --size 512 --label pose2im-paper-512 --streams "${PAPER:-1,4,8}"; }
[ -n "${GRAPHS_OFF-x}" ] && t graphs off && MODES=serve METAPIX_CUDA_GRAPHS=off bs --view gen --label pose2im-lite-256 --streams 16
t done
