#!/usr/bin/env bash
# File-to-file throughput of metapix-stream: decode -> pose -> generate (the default avatar,
# Pose2Im lite, and a personalized Posewarp lite; CPU) -> render -> encode, per panel size and
# view, on the synthetic dancer (always) and the real clip in ../shared/data (when present). Prints a Markdown table from each run's --stats JSON. Run after `make build`.
#   scripts/bench-throughput.sh [SECONDS]     (length of the synthetic clip, default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release
SECONDS_LONG=${1:-10}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DATA=${METAPIX_DATA:-../shared/data}

"$BIN/metapix" synth --out "$WORK" --identities 1 --seconds "$SECONDS_LONG" --size 512x512 -q
INPUTS=("$WORK/identity-000.mp4")
[ -f "$DATA/real/driving/unianimate_source_video.mp4" ] && INPUTS+=("$DATA/real/driving/unianimate_source_video.mp4")

# Posewarp lite, personalized on a synthetic person, for the rows beside the default avatar
# (Pose2Im lite).
scripts/bench-posewarp-model.sh "$BIN" "$WORK" "$WORK/posewarp.safetensors"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo
echo "| input | generator | view | size | frames | fps | pose p50/p95 ms | generate p50/p95 ms | render p50/p95 ms | encode p50/p95 ms | end-to-end p50/p95 ms |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
# row INPUT GENERATOR VIEW SIZE [metapix-stream flags...]
row() {
  local input=$1 generator=$2 view=$3 size=$4 json="$WORK/stats.json"
  shift 4
  "$BIN/metapix-stream" "$input" "$WORK/out.mp4" --view "$view" --size "$size" --stats "$json" -q "$@"
  python3 - "$json" "$(basename "$input")" "$generator" "$view" "$size" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
st = s["stages"]
pp = lambda d: f'{d["p50_ms"]:.1f} / {d["p95_ms"]:.1f}' if d and d["count"] else "-"
print(f'| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {sys.argv[5]} | {s["frames_out"]} | {s["fps"]:.1f} | '
      f'{pp(st["pose"])} | {pp(st.get("generate"))} | {pp(st["render"])} | {pp(st["encode"])} | '
      f'{pp(s["end_to_end"])} |')
PY
}
for input in "${INPUTS[@]}"; do
  for size in 256 512; do
    for view in skeleton gen side-by-side; do
      row "$input" "avatar (pose2im lite)" "$view" "$size"
    done
  done
  for view in gen side-by-side; do
    row "$input" "posewarp lite" "$view" 256 --model "$WORK/posewarp.safetensors"
  done
done
