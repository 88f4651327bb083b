#!/usr/bin/env bash
# The eps-1 Reptile init against v2 on both real targets at other K and a longer T (2-core VM).
set -uo pipefail
B=/work/main/target/nogst/release/metapix
R=/work/bench/real
V3=/work/main/docs/results/issue12/reptile-eps1-gpu256/reptile.safetensors
t0=$(date +%s); t() { echo "=== $(( $(date +%s) - t0 )) s: $*"; }
t "K 3 and 10, T 20"
$B eval $R/tfjs_pose_squats $R/edn_subject4 --init reptile=$V3 --init v2=posewarp --shots 3,10 --steps 20 --pck \
  --device cpu --out /tmp/r4/cpu-real-k.json 2>&1 | grep -v cells/s
t "K 5, T 50"
$B eval $R/tfjs_pose_squats $R/edn_subject4 --init reptile=$V3 --init v2=posewarp --shots 5 --steps 50 --pck \
  --device cpu --out /tmp/r4/cpu-real-t50.json 2>&1 | grep -v cells/s
t done
