#!/usr/bin/env python3
"""Streams against latency and GPU use, from scripts/bench-serve.py's rows (its --out
bench-serve.jsonl): one panel of worst p95 capture-to-hand-off latency, one of output fps
(worst stream), one of GPU use, a line per generator and way of running (serve, processes),
CUDA graphs on. Needs matplotlib (`python3 -m pip install matplotlib`).

  scripts/plot-serve.py BENCH-SERVE.JSONL OUT.PNG [--title TEXT] [--budget-ms 50]
"""

import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("rows")
    p.add_argument("out")
    p.add_argument("--title", default="")
    p.add_argument("--budget-ms", type=float, default=50)
    args = p.parse_args()
    rows = [json.loads(line) for line in open(args.rows) if line.strip()]
    rows = [r for r in rows if r.get("cuda_graphs", "on") == "on"]
    series = {}
    for r in rows:
        series.setdefault((r["label"], r["mode"]), []).append(r)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for (label, mode), rs in sorted(series.items()):
        rs.sort(key=lambda r: r["streams"])
        n = [r["streams"] for r in rs]
        style = "-o" if mode == "serve" else "--s"
        name = f"{label}, {mode}"
        axes[0].plot(n, [r["p95_ms_max"] for r in rs], style, label=name)
        axes[1].plot(n, [r["fps_min"] for r in rs], style, label=name)
        axes[2].plot(n, [r["gpu_util_mean"] or 0 for r in rs], style, label=name)
    axes[0].axhline(args.budget_ms, color="grey", lw=0.8)
    axes[0].set_ylabel("p95 capture to hand-off, worst stream (ms)")
    axes[1].axhline(29, color="grey", lw=0.8)
    axes[1].set_ylabel("output fps, worst stream")
    axes[2].set_ylabel("GPU use (nvidia-smi, %)")
    for ax in axes:
        ax.set_xlabel("streams")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(args.title)
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
