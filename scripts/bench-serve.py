#!/usr/bin/env python3
"""Streams per machine: N live streams (testsrc -> null, each with its own model) in one
`metapix serve` process, against the same N as N `metapix-stream` processes (issue 13).

For each N and each way it runs the streams for SECONDS, stops them with SIGINT, and reads
every stream's --stats JSON: output fps, drops, and capture-to-hand-off latency (end_to_end;
`null` hands frames to no encoder, so this is everything but decoding and encoding). While
they run it samples resident memory (/proc) and, where nvidia-smi exists, GPU use. A row
"holds" when every stream delivered >= 29 of 30 fps with p95 latency <= the budget.

  scripts/bench-serve.py [--bin-dir target/release] [--streams 1,2,4] [--seconds 20]
                         [--model FILE | --view skeleton] [--size 256] [--device auto]
                         [--max-latency-ms 200] [--budget-ms 50] [--out DIR]

Only the standard library: it runs on the GPU machine's Python as well.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def stream_args(args, stats):
    out = ["--size", str(args.size), "--device", args.device, "--stats", stats]
    if args.model:
        out += ["--model", args.model]
    else:
        out += ["--view", args.view]
    if args.max_latency_ms:
        out += ["--max-latency-ms", str(args.max_latency_ms)]
    return out


def serve_config(args, n, work):
    lines = []
    for i in range(n):
        lines += [
            "[[stream]]",
            f'name = "s{i}"',
            'input = "testsrc"',
            'output = "null"',
            f"size = {args.size}",
            f'device = "{args.device}"',
            f'stats = "{work}/s{i}.json"',
        ]
        lines.append(f'model = "{args.model}"' if args.model else f'view = "{args.view}"')
        if args.max_latency_ms:
            lines.append(f"max_latency_ms = {args.max_latency_ms}")
        lines.append("")
    path = os.path.join(work, "serve.toml")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


def rss_mb(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def gpu_sample():
    if not shutil.which("nvidia-smi"):
        return None
    out = subprocess.run(
        ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
    ).stdout.strip().splitlines()
    if not out:
        return None
    util, mem = out[0].split(",")
    return float(util), float(mem)


def run_for(procs, seconds):
    """Samples memory and GPU until `seconds` pass, then SIGINTs and waits for every process."""
    start, rss, gpu = time.time(), [], []
    while time.time() - start < seconds:
        time.sleep(0.5)
        rss.append(rss_mb([p.pid for p in procs]))
        g = gpu_sample()
        if g:
            gpu.append(g)
    for p in procs:
        p.send_signal(signal.SIGINT)
    codes = [p.wait(timeout=120) for p in procs]
    return codes, rss, gpu


def one_row(args, n, mode):
    work = tempfile.mkdtemp(prefix=f"bench-serve-{mode}-{n}-")
    log = open(os.path.join(work, "log.txt"), "w")
    if mode == "serve":
        config = serve_config(args, n, work)
        cmd = [os.path.join(args.bin_dir, "metapix"), "serve", config]
        procs = [subprocess.Popen(cmd, stdout=log, stderr=log)]
    else:
        binary = os.path.join(args.bin_dir, "metapix-stream")
        procs = [
            subprocess.Popen(
                [binary, "testsrc", "null", "-q"] + stream_args(args, f"{work}/s{i}.json"),
                stdout=log,
                stderr=log,
            )
            for i in range(n)
        ]
    codes, rss, gpu = run_for(procs, args.seconds)
    stats = []
    for i in range(n):
        try:
            with open(f"{work}/s{i}.json") as f:
                stats.append(json.load(f))
        except OSError:
            stats.append(None)
    if any(s is None for s in stats) or any(codes):
        print(f"{mode} x{n}: exit {codes}, see {work}/log.txt", file=sys.stderr)
        return None
    fps = [s["fps"] for s in stats]
    p95 = [s["end_to_end"]["p95_ms"] for s in stats]
    p50 = [s["end_to_end"]["p50_ms"] for s in stats]
    dropped = sum(s["frames_dropped"] for s in stats) / max(1, sum(s["frames_in"] for s in stats))
    row = {
        "streams": n,
        "mode": mode,
        "fps_min": min(fps),
        "fps_mean": sum(fps) / n,
        "dropped": dropped,
        "p50_ms_mean": sum(p50) / n,
        "p95_ms_max": max(p95),
        "rss_mb_end": rss[-1] if rss else 0,
        "gpu_util_mean": sum(g[0] for g in gpu) / len(gpu) if gpu else None,
        "gpu_mem_mb_max": max(g[1] for g in gpu) if gpu else None,
    }
    row["holds"] = row["fps_min"] >= 29 and row["p95_ms_max"] <= args.budget_ms
    shutil.rmtree(work)
    return row


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--bin-dir", default=os.environ.get("METAPIX_BIN", "target/release"))
    p.add_argument("--streams", default="1,2,4")
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--model")
    p.add_argument("--view", default="skeleton")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--device", default="auto")
    p.add_argument("--max-latency-ms", type=int, default=200)
    p.add_argument("--budget-ms", type=float, default=50)
    p.add_argument("--modes", default="serve,processes")
    p.add_argument("--out", help="append each row as a JSON line to OUT/bench-serve.jsonl")
    args = p.parse_args()
    what = f"model {args.model}" if args.model else f"view {args.view}"
    print(f"testsrc 30 fps -> null, {what}, {args.size}, device {args.device}, {args.seconds:.0f} s\n")
    print("| streams | mode | fps min / mean | dropped | p50 ms | p95 ms (worst) | RSS MB | GPU % | GPU MB | holds |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in [int(x) for x in args.streams.split(",")]:
        for mode in args.modes.split(","):
            row = one_row(args, n, mode)
            if row is None:
                continue
            gpu = lambda k, f: f.format(row[k]) if row[k] is not None else "-"  # noqa: E731
            print(
                f"| {n} | {mode} | {row['fps_min']:.1f} / {row['fps_mean']:.1f} | {100 * row['dropped']:.1f}% "
                f"| {row['p50_ms_mean']:.1f} | {row['p95_ms_max']:.1f} | {row['rss_mb_end']:.0f} "
                f"| {gpu('gpu_util_mean', '{:.0f}')} | {gpu('gpu_mem_mb_max', '{:.0f}')} "
                f"| {'yes' if row['holds'] else 'no'} |",
                flush=True,
            )
            if args.out:
                os.makedirs(args.out, exist_ok=True)
                with open(os.path.join(args.out, "bench-serve.jsonl"), "a") as f:
                    f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
