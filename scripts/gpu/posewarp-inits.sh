#!/usr/bin/env bash
# On the GPU machine, one after another: Posewarp's paper preset trained with the lite init's
# recipe at each rate in LRS, and Reptile with learned layer rates from the shipped init
# (v2), for PAPER_S and META_S seconds at most; then all of them scored in one eval beside v2 and
# nearest-shot, on six held-out synthetic people and the real targets carried in gpu/data
# (docs/RESULTS.md). Run side by side on one H100, the three stopped progressing together
# after about 125 s and ignored Ctrl-C (not understood), so they no longer share the GPU.
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
  timeout -k 20 -s INT "${PAPER_S:-250}" "$B/metapix" -q pretrain /tmp/w/train --arch posewarp --preset paper \
    --frames-per-identity 20 --steps 4000 --batch 4 --lr "$lr" --device cuda --checkpoint-every 1000 \
    --out "/tmp/w/paper-$lr.safetensors" >"$R/paper-$lr.txt" 2>&1
  inits+=(--init "paper-$lr=/tmp/w/paper-$lr.safetensors")
done
if [ "${META_S:-250}" != 0 ]; then
  timeout -k 20 -s INT "${META_S:-250}" "$B/metapix" -q meta-train /tmp/w/train --arch posewarp --init posewarp \
    --learn-rates --meta-iterations "${META_ITERATIONS:-300}" --meta-batch 4 --eps "${EPS:-0.1}" --shots 5 \
    --steps 20 --batch 8 --frames-per-identity 20 --device cuda --checkpoint-every 10 \
    --out "$R/reptile-rates.safetensors" >"$R/reptile-rates.txt" 2>&1
  inits+=(--init "rates=$R/reptile-rates.safetensors")
fi
cp /tmp/w/paper-*.log.jsonl "$R/"
tail -n 3 "$R"/*.txt "$R"/*.log.jsonl
t eval
timeout -k 20 -s INT "${EVAL_S:-200}" "$B/metapix" eval /tmp/w/held gpu/data/* "${inits[@]}" \
  --init v2=posewarp --init copy=nearest-shot \
  --shots 5 --steps 0,20 --pck --device cuda --out "$R/inits-eval.json" 2>&1 | grep -v cells/s
t done
