#!/usr/bin/env bash
# Glass-to-glass latency through RTSP, measured by a real client.
#
#   scripts/glass-to-glass.sh [SECONDS] [metapix-stream flags...]
#   e.g. scripts/glass-to-glass.sh 20 --size 256            (the default avatar, lite, CPU)
#        scripts/glass-to-glass.sh 20 --size 256 --view skeleton
#
# Serves `metapix-stream testsrc rtsp://127.0.0.1:PORT/metapix` (INPUT=testsrc:640x480@60 for another rate), reads it with gst-launch's
# rtspsrc latency=0 (scripts/glass-to-glass.py), which decodes the capture time stamped into
# every frame and compares it with the clock when the decoded frame reaches it. Prints the
# client's figures, then metapix's own (capture -> hand-off to the encoder, drops).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
bin=${METAPIX_STREAM:-target/release/metapix-stream}
port=${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
url=rtsp://127.0.0.1:$port/metapix
out=$(mktemp -d)
size=256 view=gen
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case ${args[i]} in
    --size) size=${args[i + 1]} ;;
    --view) view=${args[i + 1]} ;;
    esac
done
width=$size
[[ $view == side-by-side ]] && width=$((size * 3))

"$bin" "${INPUT:-testsrc}" "$url" -q --stats "$out/stats.json" "$@" 2>"$out/server.log" &
server=$!
trap 'kill -INT $server 2>/dev/null || true' EXIT
for _ in $(seq 600); do
    (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
    kill -0 $server 2>/dev/null || { cat "$out/server.log"; exit 1; }
    sleep 0.2
done
sleep 2 # let the pose tracker and the generator warm up
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg)"
echo "client:  $(python3 scripts/glass-to-glass.py "$url" "$width" "$size" "$seconds")"
kill -INT $server
wait $server
trap - EXIT
python3 - "$out/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
e = s["end_to_end"]
print(f"metapix: in {s['fps_in']:.1f} fps, out {s['fps']:.1f} fps, dropped {s['frames_dropped']} {s['drops']}, "
      f"capture->encoder p50 {e['p50_ms']:.1f} p95 {e['p95_ms']:.1f} p99 {e['p99_ms']:.1f} ms; "
      + ", ".join(f"{k} p50 {v['p50_ms']:.1f}" for k, v in s["stages"].items()))
PY
