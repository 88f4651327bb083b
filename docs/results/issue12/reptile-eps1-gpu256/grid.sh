#!/usr/bin/env bash
# On the GPU machine: the issue's K x T grid for Reptile at eps 1 from v2 (reptile.safetensors beside this script,
# `v3`) and for v2 itself (`posewarp`) side by side, one eval process per init and person at once: the six held-out
# synthetic people (seed 2), tfjs_pose_squats and edn_subject4; then both on the iPER still at K 1. Records are
# written cell by cell, so a stopped run keeps what it scored. A device call brings back at most 8 files, so they
# come back as one archive (the first run got two people's files of seven).
# Carry: gpu/bin/metapix.xz, gpu/models, gpu/data (edn_subject4 trimmed to the frames the grid reads).
set -uo pipefail
cd "$(dirname "$0")/../../../.."
source scripts/gpu/env.sh
v3=docs/results/issue12/reptile-eps1-gpu256/reptile.safetensors
t synth
[ -d /tmp/w/held/s2/identity-005 ] || "$B/metapix" -q synth --out /tmp/w/held/s2 --prepared --identities 6 \
  --seconds 6 --fps 15 --size 256x256 --seed 2
t grid
for p in /tmp/w/held/s2/identity-* gpu/data/tfjs_pose_squats gpu/data/edn_subject4; do
  for init in v3=$v3 v2=posewarp; do
    name=grid-${init%%=*}-$(basename "$p")
    timeout --foreground -k 10 -s INT "${EVAL_S:-500}" "$B/metapix" -q eval "$p" --init "$init" \
      --shots 1,3,5,10,20 --steps 0,10,20,50,100 --pck --device cuda --out "$R/$name.json" >"$R/$name.txt" 2>&1 &
  done
done
"$B/metapix" -q eval gpu/data/iper/A --test-on gpu/data/iper/R --init v3=$v3 --init v2=posewarp --shots 1 \
  --steps 0 --pck --device cuda --out "$R/grid-iper.json" >"$R/grid-iper.txt" 2>&1
wait $(jobs -p)  # a bare wait also waits for env.sh's tee
wc -l "$R"/*.jsonl
tar -C "$R" -czf /tmp/grid.tgz --exclude log.txt . && find "$R" -type f ! -name log.txt -delete && mv /tmp/grid.tgz "$R/"
t done
