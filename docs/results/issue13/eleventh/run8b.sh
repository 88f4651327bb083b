#!/usr/bin/env bash
# Call C2: the same rows with pinned byte uploads, beyond, and the processes baseline.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/gpu/env.sh
t tests; timeout --foreground 100 $B/libtests uploaded_maps cuda_graph generate:: --test-threads 1 2>&1 | grep -E "^test |result|panicked|differ"
bs() { python3 scripts/bench-serve.py --device cuda --seconds 8 --warmup 3 --out "$R" "$@"; }
t new lite; bs --modes serve --view gen --label pinned-lite-256 --streams 24,28,32,36
t new paper; bs --modes serve --model /tmp/w/paper512.safetensors --size 512 --label pinned-paper-512 --streams 8,10
t processes; bs --modes processes --view gen --label pinned-lite-256 --streams 28
t done
