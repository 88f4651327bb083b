#!/usr/bin/env bash
# Call A: the binary before pinned uploads (shim fix only), serve rows; leaves /tmp/w/paper512 and models.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/gpu/env.sh
mkdir -p /tmp/old; xz -dc gpu/old/metapix-mutex.xz > /tmp/old/metapix; chmod +x /tmp/old/metapix
O=/tmp/old/metapix
$O -q synth --out /tmp/w/t512 --prepared --identities 1 --seconds 2 --fps 15 --size 512x512 --seed 3
$O personalize /tmp/w/t512/identity-000 --arch pose2im --preset paper --steps 0 --device cuda --out /tmp/w/paper512.safetensors -q
bs() { METAPIX_BIN=/tmp/old python3 scripts/bench-serve.py --device cuda --seconds 8 --warmup 3 --modes serve --out "$R" "$@"; }
t old lite; bs --view gen --label old-lite-256 --streams 20,24
t old paper; bs --model /tmp/w/paper512.safetensors --size 512 --label old-paper-512 --streams 8
t done
