#!/usr/bin/env bash
# Call B: pinned byte uploads; how threads wait (METAPIX_CUDA_SYNC); processes past 24.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/gpu/env.sh
t tests; timeout --foreground 100 $B/libtests uploaded_maps cuda_graph --test-threads 1 2>&1 | grep -E "^test |result"
bs() { python3 scripts/bench-serve.py --device cuda --seconds 8 --warmup 3 --out "$R" "$@"; }
t old; METAPIX_BIN=/tmp/old bs --modes serve --view gen --label old-lite-256 --streams 28,32
t new lite; bs --modes serve --view gen --label new-lite-256 --streams 24,28,32
t blocking; METAPIX_CUDA_SYNC=blocking bs --modes serve --view gen --label blocking-lite-256 --streams 28,32
t yield; METAPIX_CUDA_SYNC=yield bs --modes serve --view gen --label yield-lite-256 --streams 32
t processes; bs --modes processes --view gen --label new-lite-256 --streams 28,32
t paper; bs --modes serve --model /tmp/w/paper512.safetensors --size 512 --label new-paper-512 --streams 8
t paper blocking; METAPIX_CUDA_SYNC=blocking bs --modes serve --model /tmp/w/paper512.safetensors --size 512 --label blocking-paper-512 --streams 8
t done
