#!/usr/bin/env bash
# Rates only: joint training's weights (the control that won, /tmp/r2/joint) held still (--eps 0) while
# Reptile's hypergradient learns personalization's per-layer rates, on 24 people no stage has seen (seed 8).
set -uo pipefail
B=/work/main/target/nogst/release/metapix
cd /tmp/r3
t0=$(date +%s); t() { echo "=== $(( $(date +%s) - t0 )) s: $*"; }
t synth
$B -q synth --out /tmp/r3/train --prepared --identities 24 --seconds 6 --fps 15 --size 128x128 --seed 8
t rates
$B -q meta-train /tmp/r3/train --arch posewarp --init /tmp/r2/joint.safetensors --learn-rates --meta-iterations 30 \
  --meta-batch 4 --eps 0 --shots 5 --steps 20 --batch 8 --frames-per-identity 20 --device cpu --checkpoint-every 10 \
  --out /tmp/r3/rates.safetensors > /tmp/r3/rates.txt 2>&1
t done
# Then scored on the 2-core VM (K 5, T 20; T 0 is the same weights for both):
#   $B eval /tmp/r/held --init rates=/tmp/r3/rates.safetensors --init joint=/tmp/r2/joint.safetensors \
#     --shots 5 --steps 20 --device cpu --out cpu128-eval.json            # and again with --l1: cpu128-eval-l1
#   $B eval /tmp/r/held --init joint-lr2.4e-4=/tmp/r2/joint.safetensors --lr 2.4e-4 \
#     --shots 5 --steps 20 --device cpu --out cpu128-eval-lr.json         # the control: one rate, 0.4x
#   $B eval /tmp/r2/held7 --init rates=... --init joint=... --shots 5 --steps 20 --device cpu --out cpu128-eval7.json
# /tmp/r2/joint.safetensors and the held-out people: ../joint-then-reptile-cpu128/run.sh.
