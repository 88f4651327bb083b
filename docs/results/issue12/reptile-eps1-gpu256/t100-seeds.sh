#!/usr/bin/env bash
# On the GPU machine: how often does personalizing for 100 steps fall apart? Reptile eps 1 (v3) and v2 on the six
# held-out synthetic people at K 3 and 5, T 100, seeds 0 (the grid's) and 1 (the GAN terms' draws and the batch order).
set -uo pipefail
cd "$(dirname "$0")/../../../.."
source scripts/gpu/env.sh
v3=docs/results/issue12/reptile-eps1-gpu256/reptile.safetensors
[ -d /tmp/w/held/s2/identity-005 ] || "$B/metapix" -q synth --out /tmp/w/held/s2 --prepared --identities 6 \
  --seconds 6 --fps 15 --size 256x256 --seed 2
t runs
for seed in 0 1; do
  for p in /tmp/w/held/s2/identity-*; do
    for init in v3=$v3 v2=posewarp; do
      name=t100-${init%%=*}-$(basename "$p")-seed$seed
      timeout --foreground -k 10 -s INT "${EVAL_S:-500}" "$B/metapix" -q eval "$p" --init "$init" --seed $seed \
        --shots 3,5 --steps 100 --device cuda --out "$R/$name.json" >"$R/$name.txt" 2>&1 &
    done
  done
done
wait $(jobs -p)  # a bare wait also waits for env.sh's tee
cat "$R"/*.jsonl | grep -c psnr_person
tar -C "$R" -czf /tmp/t100.tgz --exclude log.txt . && find "$R" -type f ! -name log.txt -delete && mv /tmp/t100.tgz "$R/"
t done
