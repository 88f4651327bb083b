#!/usr/bin/env python3
"""Reads a metapix RTSP stream with a real client and measures glass-to-glass latency.

The client is gst-launch-1.0 (rtspsrc latency=0 -> decode -> 8-bit grey on stdout). Every
frame `metapix-stream testsrc ...` serves carries a bar code (src/stamp.rs): three rows of 32
cells across the top, the frame counter, the capture time (Unix ms mod 2^32) and a check
word. This script decodes it from each frame as it arrives and subtracts the capture time
from its own clock (same machine), so the figure spans capture -> pose -> generate ->
render -> encode -> RTP -> client decode.

usage: glass-to-glass.py URL WIDTH HEIGHT SECONDS [--json FILE] [--tcp]

The first second after the first frame is not counted: a client that joins a running stream
waits for the next key frame and then gets a burst.
"""
import json
import subprocess
import sys
import time

CHECK = 0x5A5AA5A5
WARMUP_S = 1.0
BITS, ROWS = 32, 3


def read_stamp(frame, width, height, stride):
    side = width // BITS
    if side < 2 or height < side * ROWS:
        return None
    lo, hi = side // 4, max((side * 3 + 3) // 4, side // 4 + 1)
    words = []
    for row in range(ROWS):
        word = 0
        for bit in range(BITS):
            x0, y0 = bit * side, row * side
            total = n = 0
            for y in range(y0 + lo, y0 + hi):
                line = y * stride
                cells = frame[line + x0 + lo : line + x0 + hi]
                total += sum(cells)
                n += len(cells)
            word = (word << 1) | (1 if total > 128 * n else 0)
        words.append(word)
    counter, millis, check = words
    return (counter, millis) if counter ^ millis ^ CHECK == check else None


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(q * len(values) + 0.5) - 1))]


def main():
    args = sys.argv[1:]
    json_out = None
    if "--json" in args:
        i = args.index("--json")
        json_out = args[i + 1]
        del args[i : i + 2]
    protocols = "tcp" if "--tcp" in args else "udp"
    args = [a for a in args if a != "--tcp"]
    url, width, height, seconds = args[0], int(args[1]), int(args[2]), float(args[3])
    stride = (width + 3) // 4 * 4
    client = subprocess.Popen(
        ["gst-launch-1.0", "-q", "rtspsrc", f"location={url}", "latency=0",
         f"protocols={protocols}", "!", "decodebin", "!", "videoconvert", "!",
         "video/x-raw,format=GRAY8", "!", "fdsink", "fd=1", "sync=false"],
        stdout=subprocess.PIPE)
    size = stride * height
    latencies, counters, unreadable = [], [], 0
    start = None
    while True:
        frame = client.stdout.read(size)
        now = int(time.time() * 1000) & 0xFFFFFFFF
        if len(frame) < size:
            break
        if start is None:
            start = time.monotonic()
        if time.monotonic() - start < WARMUP_S:
            continue
        stamp = read_stamp(frame, width, height, stride)
        if stamp is None:
            unreadable += 1
        else:
            counters.append(stamp[0])
            latencies.append(((now - stamp[1]) & 0xFFFFFFFF))
        if time.monotonic() - start >= WARMUP_S + seconds:
            break
    client.terminate()
    client.wait()
    if not latencies:
        sys.exit("no stamped frame received")
    result = {
        "frames": len(latencies),
        "unreadable": unreadable,
        "counter_span": max(counters) - min(counters) + 1,
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies),
        "seconds": seconds,
    }
    print(json.dumps(result))
    if json_out:
        with open(json_out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
