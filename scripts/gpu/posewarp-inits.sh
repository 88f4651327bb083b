#!/usr/bin/env bash
# On the GPU machine, one after another: Posewarp's paper preset trained with the lite init's
# recipe at each rate in LRS, and Reptile with learned layer rates from the shipped init
# (v2), for PAPER_S and META_S seconds at most; then all of them scored in one eval beside v2 and
# nearest-shot, on six held-out synthetic people and the real targets carried in gpu/data
# (docs/RESULTS.md). Run side by side on one H100, the three stopped progressing together
# after about 125 s and ignored Ctrl-C (not understood), so they no longer share the GPU.
# `timeout --foreground`: without it timeout sends its SIGINT to the command and again to its
# process group, and two arriving apart read as Ctrl-C twice (abort without the output).
# JOINT=1 adds the control Reptile must beat: joint pretraining from the same init on the same
# people, as many steps of batch 8 as Reptile's inner loops took, in the same time limit.
# Carry: gpu/bin/metapix.xz, gpu/models, gpu/data.
# LRS empty trains no paper preset; META_S=0 no Reptile.
#   LRS=1e-4 PAPER_S=150 META_S=300 bash scripts/gpu/posewarp-inits.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/gpu/env.sh
t synth
"$B/metapix" -q synth --out /tmp/w/train --prepared --identities 24 --seconds 6 --fps 15 --size 256x256 --seed 1
"$B/metapix" -q synth --out /tmp/w/held --prepared --identities 6 --seconds 6 --fps 15 --size 256x256 --seed 2
t train
inits=()
for lr in ${LRS-5e-4 1e-4}; do
  timeout --foreground -k 20 -s INT "${PAPER_S:-250}" "$B/metapix" -q pretrain /tmp/w/train --arch posewarp --preset paper \
    --frames-per-identity 20 --steps 4000 --batch 4 --lr "$lr" --device cuda --checkpoint-every 1000 \
    --out "/tmp/w/paper-$lr.safetensors" >"$R/paper-$lr.txt" 2>&1
  inits+=(--init "paper-$lr=/tmp/w/paper-$lr.safetensors")
done
if [ "${META_S:-250}" != 0 ]; then
  timeout --foreground -k 20 -s INT "${META_S:-250}" "$B/metapix" -q meta-train /tmp/w/train --arch posewarp --init posewarp \
    --learn-rates --meta-iterations "${META_ITERATIONS:-300}" --meta-batch 4 --eps "${EPS:-0.1}" --shots 5 \
    --steps 20 --batch 8 --frames-per-identity 20 --device cuda --checkpoint-every 10 \
    --out /tmp/w/reptile-rates.safetensors >"$R/reptile-rates.txt" 2>&1
  inits+=(--init "rates=/tmp/w/reptile-rates.safetensors")
  if [ "${JOINT:-0}" = 1 ]; then
    # Each outer iteration runs --meta-batch 4 tasks of --steps 20 inner steps.
    steps=$(($(wc -l </tmp/w/reptile-rates.log.jsonl) * 80))
    t "joint control, $steps steps"
    timeout --foreground -k 20 -s INT "${META_S:-250}" "$B/metapix" -q pretrain /tmp/w/train --arch posewarp --init posewarp \
      --frames-per-identity 20 --steps "$steps" --batch 8 --device cuda --checkpoint-every 500 \
      --out /tmp/w/joint.safetensors >"$R/joint.txt" 2>&1
    inits+=(--init "joint=/tmp/w/joint.safetensors")
  fi
fi
cp /tmp/w/*.log.jsonl /tmp/w/*.safetensors "$R/" 2>/dev/null
tail -n 3 "$R"/*.txt "$R"/*.log.jsonl
# EVAL_S=0: train only (a later call on the warm machine scores /tmp/w's checkpoints).
[ "${EVAL_S:-200}" = 0 ] && exit 0
t eval
timeout --foreground -k 20 -s INT "${EVAL_S:-200}" "$B/metapix" eval /tmp/w/held gpu/data/* "${inits[@]}" \
  --init v2=posewarp --init copy=nearest-shot \
  --shots 5 --steps 0,20 --pck --device cuda --out "$R/inits-eval.json" 2>&1 | grep -v cells/s
t done
