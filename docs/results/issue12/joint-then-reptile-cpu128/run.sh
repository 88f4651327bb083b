#!/usr/bin/env bash
# Joint, then Reptile: from the joint init trained on seed-5 people (joint-new), Reptile with learned rates on 24
# people neither has seen (seed 6), against joint training continued on the same people with the same inner steps;
# eval on the held-out six (seed 2) beside the starting point.
set -uo pipefail
B=/work/main/target/nogst/release/metapix
cd /tmp/r2
t0=$(date +%s); t() { echo "=== $(( $(date +%s) - t0 )) s: $*"; }
t synth
$B -q synth --out /tmp/r2/train --prepared --identities 24 --seconds 6 --fps 15 --size 128x128 --seed 6
t reptile
$B -q meta-train /tmp/r2/train --arch posewarp --init /tmp/r/joint-new.safetensors --learn-rates --meta-iterations 30 \
  --meta-batch 4 --eps 0.1 --shots 5 --steps 20 --batch 8 --frames-per-identity 20 --device cpu --checkpoint-every 10 \
  --out /tmp/r2/reptile.safetensors > /tmp/r2/reptile.txt 2>&1
t joint
$B -q pretrain /tmp/r2/train --init /tmp/r/joint-new.safetensors --steps 2400 --batch 8 --frames-per-identity 20 \
  --device cpu --checkpoint-every 500 --out /tmp/r2/joint.safetensors > /tmp/r2/joint.txt 2>&1
t eval
$B eval /tmp/r/held --init reptile=/tmp/r2/reptile.safetensors --init joint=/tmp/r2/joint.safetensors \
  --init start=/tmp/r/joint-new.safetensors --shots 5 --steps 0,20 --device cpu --out /tmp/r2/eval.json 2>&1 | grep -v cells/s
t done
# Afterwards, ten more held-out people and the real target at 128 (the GStreamer build prepares it):
#   $B -q synth --out /tmp/r2/held7 --prepared --identities 10 --seconds 6 --fps 15 --size 128x128 --seed 7
#   $B eval /tmp/r2/held7 --init reptile=... --init joint=... --init start=... --shots 5 --steps 0,20 --device cpu --out eval7.json
#   metapix prepare ../shared/data/real/targets/tfjs_pose_squats.mp4 --size 128 --out /tmp/r2/squats128
#   $B eval /tmp/r2/squats128 --init reptile=... --init joint=... --init start=... --init copy=nearest-shot \
#     --shots 5 --steps 0,20 --pck --device cpu --out eval-squats.json
