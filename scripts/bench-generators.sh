#!/usr/bin/env bash
# Posewarp lite against the default avatar (Pose2Im lite) on the CPU, side by side: file to
# file on a 10 s synthetic dancer at 256 (gen and side-by-side views, two rounds alternating),
# then glass to glass through RTSP (scripts/glass-to-glass.sh). Posewarp is personalized on a
# synthetic person with no steps: the weights do not change the time. Run after `make build`.
#   scripts/bench-generators.sh [NAME=POSEWARP_INIT ...]
# Each NAME=INIT adds a Posewarp of that init's shape beside the shipped one. METAPIX_BIN
# names another folder of binaries (default target/release), to set builds side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${METAPIX_BIN:-target/release}
export METAPIX_STREAM=$B/metapix-stream
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$B/metapix" synth --out "$W" --identities 1 --seconds 10 --size 512x512 -q
scripts/bench-posewarp-model.sh "$B" "$W" "$W/posewarp.safetensors"
generators=(avatar posewarp)
for named in "$@"; do
  generators+=("${named%%=*}")
  scripts/bench-posewarp-model.sh "$B" "$W" "$W/${named%%=*}.safetensors" "${named#*=}"
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| round | generator | view | frames | fps | pose p50/p95 ms | generate p50/p95 ms | render p50/p95 ms | end-to-end p50/p95 ms |"
echo "|---|---|---|---|---|---|---|---|---|"
for round in 1 2; do
  for g in "${generators[@]}"; do
    extra=()
    [ "$g" != avatar ] && extra=(--model "$W/$g.safetensors")
    for view in gen side-by-side; do
      "$B/metapix-stream" "$W/identity-000.mp4" "$W/out.mp4" --view "$view" --size 256 --stats "$W/s.json" -q "${extra[@]}"
      python3 - "$W/s.json" "$g" "$view" "$round" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); st = s["stages"]
pp = lambda d: f'{d["p50_ms"]:.1f} / {d["p95_ms"]:.1f}' if d and d["count"] else "-"
print(f'| {sys.argv[4]} | {sys.argv[2]} | {sys.argv[3]} | {s["frames_out"]} | {s["fps"]:.1f} | '
      f'{pp(st["pose"])} | {pp(st.get("generate"))} | {pp(st["render"])} | {pp(s["end_to_end"])} |')
PY
    done
  done
done
echo
echo "glass to glass, avatar:"
scripts/glass-to-glass.sh 20 --size 256 2>&1 | tail -3
for g in "${generators[@]:1}"; do
  echo "glass to glass, $g:"
  scripts/glass-to-glass.sh 20 --size 256 --model "$W/$g.safetensors" 2>&1 | tail -3
done
