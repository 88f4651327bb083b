#!/usr/bin/env bash
# Reptile with learned rates from v2 on 24 synthetic people v2 never saw (seed 5), against joint
# training from v2 on the same people with the same inner steps; eval on the held-out six (seed 2).
set -uo pipefail
B=/work/main/target/nogst/release/metapix
cd /tmp/r
t0=$(date +%s); t() { echo "=== $(( $(date +%s) - t0 )) s: $*"; }
t synth
$B -q synth --out /tmp/r/train --prepared --identities 24 --seconds 6 --fps 15 --size 128x128 --seed 5
$B -q synth --out /tmp/r/held --prepared --identities 6 --seconds 6 --fps 15 --size 128x128 --seed 2
t reptile
$B -q meta-train /tmp/r/train --arch posewarp --init posewarp --learn-rates --meta-iterations 30 --meta-batch 4 \
  --eps 0.1 --shots 5 --steps 20 --batch 8 --frames-per-identity 20 --device cpu --checkpoint-every 10 \
  --out /tmp/r/rates-new.safetensors > /tmp/r/rates.txt 2>&1
t joint
$B -q pretrain /tmp/r/train --init posewarp --steps 2400 --batch 8 --frames-per-identity 20 --device cpu \
  --checkpoint-every 500 --out /tmp/r/joint-new.safetensors > /tmp/r/joint.txt 2>&1
t eval
$B eval /tmp/r/held --init rates=/tmp/r/rates-new.safetensors --init joint=/tmp/r/joint-new.safetensors \
  --init v2=posewarp --init copy=nearest-shot --shots 5 --steps 0,20 --device cpu --out /tmp/r/eval.json 2>&1 | grep -v cells/s
t done
