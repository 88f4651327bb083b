#!/usr/bin/env python3
"""Streams per machine: N live streams (testsrc -> null, each with its own model) in one
`metapix serve` process, against the same N as N `metapix-stream` processes (issue 13). Mode
`batched` is serve with `batch_ms = BATCH_MS`: generation batched across the streams.

For each N and each way it starts the streams, waits until every one of them prints its
once-a-second line (start-up: loading, CUDA, graph capture; reported apart), lets WARMUP
seconds pass, then measures SECONDS from those lines: output fps, drops, and
capture-to-hand-off latency (end-to-end; `null` hands frames to no encoder, so this is
everything but decoding and encoding; a stream's p95 is the mean of its seconds' p95). While
it measures it samples resident memory (/proc) and, where nvidia-smi exists, GPU use. Then it
stops them with SIGINT. A row "holds" when every stream delivered >= 29 of 30 fps with p95
latency <= the budget.

  scripts/bench-serve.py [--bin-dir target/release] [--streams 1,2,4] [--seconds 20]
                         [--model FILE | --view skeleton] [--size 256] [--device auto]
                         [--max-latency-ms 200] [--budget-ms 50] [--warmup 3] [--label L]
                         [--out DIR] [--soak] [--modes serve,batched,processes] [--batch-ms 8]

Each row also gives the machine's CPU use (all cores, from /proc/stat) and the streams' mean
pose and generate p50: which resource runs out first. With --soak, one serve run of the
first N for SECONDS prints the first and the last minute side by side (fps, latency, memory),
from the streams' once-a-second lines.

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


def serve_config(args, n, work, batched):
    lines = [f"batch_ms = {args.batch_ms}", ""] if batched else []
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
        lines.append("verbose = true")
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


def cpu_ticks():
    """(busy, total) jiffies of all cores since boot."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def percentile_field(line, name):
    """(p50, p95) of `| NAME p50/p95/p99 A/B/C ms` in a once-a-second line, or None."""
    key = f"| {name} p50/p95/p99 "
    if key not in line:
        return None
    p50, p95, _ = (float(v) for v in line.split(key)[1].split()[0].split("/"))
    return p50, p95


def second_lines(logs):
    """Each stream's once-a-second lines (`NAME: in X fps, out Y fps, dropped D | ...`) in
    `logs`, as dicts, by stream: serve labels them by stream name, a metapix-stream process
    `live` (one log per process)."""
    streams = {}
    for i, log in enumerate(logs):
        with open(log) as f:
            for line in f:
                if ": in " not in line or " fps, out " not in line:
                    continue
                name = line.split(": in ")[0].split()[-1]
                if name == "live":
                    name = f"p{i}"
                row = {
                    "in": float(line.split(": in ")[1].split(" fps")[0]),
                    "out": float(line.split(" fps, out ")[1].split(" fps")[0]),
                    "dropped": int(line.split("dropped ")[1].split()[0]),
                }
                for stage in ("pose", "generate", "end-to-end"):
                    row[stage] = percentile_field(line, stage)
                streams.setdefault(name, []).append(row)
    return streams


def run_streams(procs, logs, n, args):
    """Waits until all `n` streams print their once-a-second lines (start-up: loading,
    CUDA, graph capture), then `args.warmup` more seconds, then samples memory, GPU and CPU
    for `args.seconds`; SIGINTs and waits for every process. Returns the exit codes, how
    many lines each stream had at the window's start and end, the samples (seconds since
    the window's start, value), CPU use in the window, and the start-up time."""
    t0 = time.time()
    while len(second_lines(logs)) < n and time.time() - t0 < args.start_timeout:
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.5)
    startup = time.time() - t0
    time.sleep(args.warmup)
    before = {k: len(v) for k, v in second_lines(logs).items()}
    start, rss, gpu = time.time(), [], []
    busy0, total0 = cpu_ticks()
    while time.time() - start < args.seconds:
        time.sleep(0.5)
        at = time.time() - start
        rss.append((at, rss_mb([p.pid for p in procs])))
        g = gpu_sample()
        if g:
            gpu.append((at, g))
    busy1, total1 = cpu_ticks()
    after = {k: len(v) for k, v in second_lines(logs).items()}
    for p in procs:
        p.send_signal(signal.SIGINT)
    codes = [p.wait(timeout=120) for p in procs]
    return codes, (before, after), rss, gpu, (busy1 - busy0) / max(1, total1 - total0), startup


def steady(lines, window):
    """Per stream, its once-a-second lines inside the measuring window."""
    before, after = window
    return {k: v[before.get(k, 0):after.get(k, 0)] for k, v in lines.items()}


def one_row(args, n, mode):
    work = tempfile.mkdtemp(prefix=f"bench-serve-{mode}-{n}-")
    if mode in ("serve", "batched"):
        config = serve_config(args, n, work, mode == "batched")
        cmd = [os.path.join(args.bin_dir, "metapix"), "serve", config]
        logs = [os.path.join(work, "log.txt")]
        procs = [subprocess.Popen(cmd, stdout=open(logs[0], "w"), stderr=subprocess.STDOUT)]
    else:
        binary = os.path.join(args.bin_dir, "metapix-stream")
        logs = [os.path.join(work, f"log{i}.txt") for i in range(n)]
        procs = [
            subprocess.Popen(
                [binary, "testsrc", "null", "-v"] + stream_args(args, f"{work}/s{i}.json"),
                stdout=open(logs[i], "w"),
                stderr=subprocess.STDOUT,
            )
            for i in range(n)
        ]
    codes, window, rss, gpu, cpu, startup = run_streams(procs, logs, n, args)
    if args.soak:
        soak_report(second_lines(logs), rss, gpu, args.out)
    lines = steady(second_lines(logs), window)
    if len(lines) < n or any(codes) or any(not v for v in lines.values()):
        print(f"{mode} x{n}: exit {codes}, {len(lines)} streams with lines, see {work}", file=sys.stderr)
        return None
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731

    def stage(rows, name, i):
        values = [r[name][i] for r in rows if r[name]]
        return mean(values) if values else 0.0

    fps = [mean([r["out"] for r in rows]) for rows in lines.values()]
    frames_in = sum(r["in"] for rows in lines.values() for r in rows)
    row = {
        "label": args.label,
        "cuda_graphs": os.environ.get("METAPIX_CUDA_GRAPHS", "on"),
        "streams": n,
        "mode": mode,
        "seconds": args.seconds,
        "startup_s": startup,
        "fps_min": min(fps),
        "fps_mean": mean(fps),
        "dropped": sum(r["dropped"] for rows in lines.values() for r in rows) / max(1, frames_in),
        "p50_ms_mean": mean([stage(rows, "end-to-end", 0) for rows in lines.values()]),
        "p95_ms_max": max(stage(rows, "end-to-end", 1) for rows in lines.values()),
        "pose_p50_ms": mean([stage(rows, "pose", 0) for rows in lines.values()]),
        "generate_p50_ms": mean([stage(rows, "generate", 0) for rows in lines.values()]),
        "cpu_busy": cpu,
        "rss_mb_end": rss[-1][1] if rss else 0,
        "gpu_util_mean": sum(g[0] for _, g in gpu) / len(gpu) if gpu else None,
        "gpu_mem_mb_max": max(g[1] for _, g in gpu) if gpu else None,
    }
    row["holds"] = row["fps_min"] >= 29 and row["p95_ms_max"] <= args.budget_ms
    shutil.rmtree(work)
    return row


def soak_report(lines, rss, gpu, out):
    """The first and the last minute of a soak's measuring window, side by side: every
    stream's once-a-second lines and the memory samples. With `out`, every line and sample
    is kept there too (soak-seconds.jsonl), to look for drift between the two minutes."""
    if not lines:
        print("soak: no once-a-second lines")
        return
    if out:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "soak-seconds.jsonl"), "w") as f:
            for name, rows in lines.items():
                for second, row in enumerate(rows):
                    f.write(json.dumps({"stream": name, "second": second, **row}) + "\n")
            for at, mb in rss:
                f.write(json.dumps({"sample_s": at, "rss_mb": mb}) + "\n")
            for at, (util, mb) in gpu:
                f.write(json.dumps({"sample_s": at, "gpu_util": util, "gpu_mb": mb}) + "\n")
    seconds = min(len(v) for v in lines.values())
    span = min(60, seconds // 2)
    median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731

    def window(part, t0, t1):
        rows = [r for v in lines.values() for r in v[t0:t1] if r["end-to-end"]]
        # Lines count from each stream's start, samples from the window's: the ends match.
        shift = seconds - (rss[-1][0] if rss else seconds)
        mem = [m for at, m in rss if t0 <= at + shift < t1]
        gmem = [g[1] for at, g in gpu if t0 <= at + shift < t1]
        p95 = [r["end-to-end"][1] for r in rows]
        return (f"| {part} (s {t0}-{t1}) | {sum(r['out'] for r in rows) / len(rows):.1f} "
                f"| {sum(r['dropped'] for r in rows)} | {median([r['end-to-end'][0] for r in rows]):.1f} "
                f"| {median(p95):.1f} | {max(p95):.1f} | {max(mem) if mem else 0:.0f} | {max(gmem) if gmem else 0:.0f} |")

    print(f"soak: {len(lines)} streams, {seconds} one-second lines each")
    print("| window | out fps (mean per stream) | dropped | end-to-end p50 ms (median s) | p95 ms (median s) "
          "| p95 ms (worst s) | RSS MB (max) | GPU MB (max) |")
    print("|---|---|---|---|---|---|---|---|")
    print(window("first minute", 0, span))
    print(window("last minute", seconds - span, seconds))


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
    p.add_argument("--modes", default="serve,processes", help="of serve, batched, processes")
    p.add_argument("--batch-ms", type=int, default=8, help="batched: how long a round waits for the streams")
    p.add_argument("--label", default="", help="a name for the rows (the generator)")
    p.add_argument("--warmup", type=float, default=3, help="seconds after every stream started, not measured")
    p.add_argument("--start-timeout", type=float, default=90)
    p.add_argument("--soak", action="store_true", help="one serve run of the first N, minute by minute")
    p.add_argument("--out", help="append each row as a JSON line to OUT/bench-serve.jsonl")
    args = p.parse_args()
    if args.soak:
        args.streams, args.modes = args.streams.split(",")[0], "serve"
    what = f"model {args.model}" if args.model else f"view {args.view}"
    print(f"testsrc 30 fps -> null, {what}, {args.size}, device {args.device}, {args.seconds:.0f} s\n")
    print("| streams | mode | start s | fps min / mean | dropped | p50 ms | p95 ms (worst) | pose / generate p50 ms "
          "| CPU % | RSS MB | GPU % | GPU MB | holds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in [int(x) for x in args.streams.split(",")]:
        for mode in args.modes.split(","):
            row = one_row(args, n, mode)
            if row is None:
                continue
            gpu = lambda k, f: f.format(row[k]) if row[k] is not None else "-"  # noqa: E731
            print(
                f"| {n} | {mode} | {row['startup_s']:.1f} | {row['fps_min']:.1f} / {row['fps_mean']:.1f} | {100 * row['dropped']:.1f}% "
                f"| {row['p50_ms_mean']:.1f} | {row['p95_ms_max']:.1f} "
                f"| {row['pose_p50_ms']:.1f} / {row['generate_p50_ms']:.1f} | {100 * row['cpu_busy']:.0f} "
                f"| {row['rss_mb_end']:.0f} "
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
