#!/usr/bin/env bash
# On the GPU machine: Posewarp's shipped weights (v2) held still (--eps 0) while Reptile's hypergradient
# learns personalization's per-layer rates, on 24 synthetic people at 256 that v2 never saw (seed 5); then
# the rates scored against v2 itself (same weights, uniform rates) on 16 held-out people (seeds 2 and 7) and
# tfjs_pose_squats, with personalization's default loss and with L1 alone (the meta-objective's).
# Carry: gpu/bin/metapix.xz, gpu/models, gpu/data.
set -uo pipefail
cd "$(dirname "$0")/../../../.."
source scripts/gpu/env.sh
t synth
if [ ! -d /tmp/w/train5/identity-023 ]; then
"$B/metapix" -q synth --out /tmp/w/train5 --prepared --identities 24 --seconds 6 --fps 15 --size 256x256 --seed 5 &
"$B/metapix" -q synth --out /tmp/w/held/s2 --prepared --identities 6 --seconds 6 --fps 15 --size 256x256 --seed 2 &
"$B/metapix" -q synth --out /tmp/w/held/s7 --prepared --identities 10 --seconds 6 --fps 15 --size 256x256 --seed 7 &
wait $(jobs -p)  # a bare wait also waits for env.sh's tee
fi
t rates
timeout --foreground -k 20 -s INT "${META_S:-270}" "$B/metapix" -q meta-train /tmp/w/train5 --arch posewarp --init posewarp \
  --learn-rates --eps 0 --meta-iterations "${META_ITERATIONS:-120}" --meta-batch 4 --shots 5 --steps 20 --batch 8 \
  --frames-per-identity 20 --device cuda --checkpoint-every 10 --out /tmp/w/rates.safetensors >"$R/rates.txt" 2>&1
cp /tmp/w/rates.log.jsonl /tmp/w/rates.safetensors "$R/"
tail -n 2 "$R/rates.txt" "$R/rates.log.jsonl"
for loss in default l1; do
  flag=(); [ "$loss" = l1 ] && flag=(--l1)
  t "eval, $loss loss"
  timeout --foreground -k 20 -s INT "${EVAL_S:-130}" "$B/metapix" eval /tmp/w/held/s2 /tmp/w/held/s7 gpu/data/* \
    --init rates=/tmp/w/rates.safetensors --init v2=posewarp --init copy=nearest-shot "${flag[@]}" \
    --shots 5 --steps 0,20 --pck --device cuda --out "$R/eval-$loss.json" 2>&1 | grep -v cells/s
done
t done
