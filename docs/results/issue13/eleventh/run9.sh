#!/usr/bin/env bash
# Streams per GPU for each generator, serve against processes, with the current build (2026-12-06, eleventh session).
set -uo pipefail
cd "$(dirname "$0")/.."
LITE=24,32 POSEWARP=16,24 PAPER=8,10 GRAPHS_OFF= MODES=serve,processes bash scripts/gpu/streams.sh
LITE=40 POSEWARP=32 PAPER= GRAPHS_OFF= MODES=serve,processes bash scripts/gpu/streams.sh   # the second call, same host
