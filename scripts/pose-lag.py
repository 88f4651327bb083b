#!/usr/bin/env python3
"""Does landmark smoothing, or the generator, make the rendered person lag the driving one?

Reads `metapix pose` files (one JSON object per line) and compares the 18 body landmarks
(shoulders to feet, BlazePose 11..28) of a reference track with another, read `lag` frames
later, for lags 0..8:

- with --fit (an avatar's track against the dancer's): the median distance after the one
  scale and offset that fit best over the whole video, as tests/integration/generate.rs does;
- without: the mean distance in pixels (a smoothed track against the raw one).

It also prints each track's jitter: the mean size of the landmarks' second difference, as
a share of the person's median height (shoulder to ankle), per frame squared.

usage: pose-lag.py REFERENCE.jsonl OTHER.jsonl [--fit]
"""
import json
import math
import sys

LAGS = range(0, 9)


def body_track(path):
    track = []
    with open(path) as f:
        for line in f:
            marks = json.loads(line)["landmarks"]
            track.append([(m[0], m[1]) for m in marks[11:29]] if marks else None)
    return track


def pairs(ref, other, lag):
    for a, b in zip(ref, other[lag:]):
        if a and b:
            yield from zip(a, b)


def mean_distance(ref, other, lag):
    d = [math.dist(p, q) for p, q in pairs(ref, other, lag)]
    return sum(d) / len(d)


def fitted_median_distance(ref, other, lag):
    ps = list(pairs(ref, other, lag))
    n = len(ps)
    rm = [sum(p[k] for p, _ in ps) / n for k in (0, 1)]
    om = [sum(q[k] for _, q in ps) / n for k in (0, 1)]
    num = sum((p[k] - rm[k]) * (q[k] - om[k]) for p, q in ps for k in (0, 1))
    den = sum((p[k] - rm[k]) ** 2 for p, _ in ps for k in (0, 1))
    s = num / den
    gaps = sorted(
        math.hypot(s * (p[0] - rm[0]) + om[0] - q[0], s * (p[1] - rm[1]) + om[1] - q[1])
        for p, q in ps
    )
    return gaps[len(gaps) // 2]


def jitter(track):
    j = []
    for a, b, c in zip(track, track[1:], track[2:]):
        if a and b and c:
            j += [math.hypot(z[0] - 2 * y[0] + x[0], z[1] - 2 * y[1] + x[1]) for x, y, z in zip(a, b, c)]
    heights = sorted(abs(t[0][1] - t[16][1]) for t in track if t)
    return sum(j) / len(j) / heights[len(heights) // 2]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    ref, other = body_track(sys.argv[1]), body_track(sys.argv[2])
    measure = fitted_median_distance if "--fit" in sys.argv[3:] else mean_distance
    gaps = [(lag, measure(ref, other, lag)) for lag in LAGS]
    best = min(gaps, key=lambda g: g[1])
    print("lag (frames): " + "  ".join(f"{lag}: {g:.2f}" for lag, g in gaps))
    print(
        f"best lag {best[0]} frames; jitter {100 * jitter(ref):.2f}% (reference), "
        f"{100 * jitter(other):.2f}% (other) of the body's height per frame^2"
    )


if __name__ == "__main__":
    main()
