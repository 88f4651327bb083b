#!/usr/bin/env bash
# Soak test (not part of `make test`): testsrc -> RTSP with a client attached for MINUTES
# (default 10), recording resident memory every minute and glass-to-glass latency (a second,
# measuring client: scripts/glass-to-glass.py) at the start and at the end.
#
#   scripts/soak-rtsp.sh [MINUTES] [metapix-stream flags...]     (default flags: --size 256)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
shift || true
flags=("$@")
[[ ${#flags[@]} -eq 0 ]] && flags=(--size 256)
bin=${METAPIX_STREAM:-target/release/metapix-stream}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=rtsp://127.0.0.1:$port/metapix
out=${SOAK_DIR:-$(mktemp -d)}
mkdir -p "$out"
echo "soak: $minutes min of testsrc -> $url ${flags[*]}; logs in $out"

"$bin" testsrc "$url" -q -v --stats "$out/stats.json" "${flags[@]}" 2>"$out/server.log" &
server=$!
cleanup() {
    kill -INT $server 2>/dev/null || true
    [[ -n ${client:-} ]] && kill $client 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 600); do
    (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
    sleep 0.2
done
gst-launch-1.0 -q rtspsrc location="$url" latency=0 ! decodebin ! fakesink sync=false \
    >"$out/client.log" 2>&1 &
client=$!
started=$(date +%s)
rss() { echo "$(awk '/VmRSS/ {print $2}' /proc/$server/status) load $(cut -d' ' -f1-3 /proc/loadavg)"; }
measure() { python3 scripts/glass-to-glass.py "$url" 256 256 15; }

sleep 20
echo "start: rss_kb $(rss) glass_to_glass $(measure)" | tee "$out/result.txt"
end=$((started + minutes * 60 - 20))
while (($(date +%s) < end - 60)); do
    sleep 60
    echo "t=$(($(date +%s) - started))s rss_kb $(rss)" | tee -a "$out/rss.txt"
    kill -0 $client 2>/dev/null || { echo "the attached client died"; exit 1; }
done
while (($(date +%s) < end)); do sleep 5; done
echo "end:   rss_kb $(rss) glass_to_glass $(measure)" | tee -a "$out/result.txt"
kill -INT $server
wait $server
kill $client 2>/dev/null || true
wait $client 2>/dev/null || true
client=
trap - EXIT
python3 - "$out/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
e = s["end_to_end"]
print(f"whole run: {s['wall_seconds']:.0f} s, in {s['frames_in']}, out {s['frames_out']}, dropped {s['frames_dropped']} {s['drops']}, "
      f"capture->encoder p50 {e['p50_ms']:.1f} p95 {e['p95_ms']:.1f} p99 {e['p99_ms']:.1f} max {e['max_ms']:.1f} ms")
PY
