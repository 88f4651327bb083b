#!/usr/bin/env bash
# On the GPU machine: Reptile at the outer step the CLI defaults to (eps 1, annealed to 0), from the shipped
# Posewarp weights (v2) on 24 synthetic people at 256 that v2 never saw (seed 5), against joint training from v2
# on the same people for as many steps of batch 8 as Reptile's inner loops took; then both scored beside v2 and
# copying on 16 held-out people (seeds 2 and 7) and tfjs_pose_squats, K 5, T 0 and 20, default loss.
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
t reptile
timeout --foreground -k 20 -s INT "${META_S:-190}" "$B/metapix" -q meta-train /tmp/w/train5 --arch posewarp --init posewarp \
  --meta-iterations "${META_ITERATIONS:-100}" --meta-batch 4 --eps 1 --shots 5 --steps 20 --batch 8 \
  --frames-per-identity 20 --device cuda --checkpoint-every 5 --out /tmp/w/reptile.safetensors >"$R/reptile.txt" 2>&1
steps=$(($(wc -l </tmp/w/reptile.log.jsonl) * 80))
t "joint control, $steps steps"
timeout --foreground -k 20 -s INT "${META_S:-190}" "$B/metapix" -q pretrain /tmp/w/train5 --arch posewarp --init posewarp \
  --frames-per-identity 20 --steps "$steps" --batch 8 --device cuda --checkpoint-every 500 \
  --out /tmp/w/joint.safetensors >"$R/joint.txt" 2>&1
cp /tmp/w/*.log.jsonl "$R/"
tail -n 2 "$R/reptile.txt" "$R/joint.txt" "$R/reptile.log.jsonl"
t eval
timeout --foreground -k 20 -s INT "${EVAL_S:-120}" "$B/metapix" eval /tmp/w/held/s2 /tmp/w/held/s7 gpu/data/* \
  --init reptile=/tmp/w/reptile.safetensors --init joint=/tmp/w/joint.safetensors --init v2=posewarp \
  --init copy=nearest-shot --shots 5 --steps 0,20 --pck --device cuda --out "$R/eval.json" 2>&1 | grep -v cells/s
t done
