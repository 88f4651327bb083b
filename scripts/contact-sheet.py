#!/usr/bin/env python3
"""A contact sheet from `metapix eval --save-frames DIR`: for some test frames of one target,
each method's frame side by side with the real one.

    contact-sheet.py DIR TARGET OUT.png LABEL=CELL... [--frames 4] [--driving PREPARED_DIR]

CELL names a saved strip without the target and extension (e.g. `posewarp_k5_t20`); the
real frames (TARGET_real.png) come last. Each strip holds the test frames side by side.
With --driving (the prepared target eval scored), a first column draws the skeleton each
frame was generated from: the protocol's test frames, read from its poses.jsonl.
"""
import argparse
import json
import math
import os

from PIL import Image, ImageDraw


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("target")
    ap.add_argument("out")
    ap.add_argument("cells", nargs="+", help="LABEL=CELL")
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--driving", help="the prepared target, for a column of driving skeletons")
    a = ap.parse_args()
    columns = [c.split("=", 1) for c in a.cells] + [["real", "real"]]
    strips = [Image.open(os.path.join(a.dir, f"{a.target}_{cell}.png")).convert("RGB") for _, cell in columns]
    side = strips[-1].height
    count = strips[-1].width // side
    picks = [round(i * (count - 1) / max(a.frames - 1, 1)) for i in range(min(a.frames, count))]
    label_h = 18
    if a.driving:
        columns.insert(0, ["driving pose", None])
        strips.insert(0, skeleton_strip(a.driving, side))
    sheet = Image.new("RGB", (side * len(columns), label_h + side * len(picks)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, ((label, _), strip) in enumerate(zip(columns, strips)):
        draw.text((c * side + 4, 3), label, fill="black")
        for r, i in enumerate(picks):
            sheet.paste(strip.crop((i * side, 0, (i + 1) * side, side)), (c * side, label_h + r * side))
    sheet.save(a.out)
    print(f"wrote {a.out}: {len(picks)} frames x {len(columns)} columns")


# BlazePose's connections between its 33 landmarks (the pose model's topology).
BONES = [(11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24),
         (23, 25), (25, 27), (24, 26), (26, 28), (27, 31), (28, 32), (0, 11), (0, 12)]


def test_frames(records):
    """The protocol's held-out frames, as `metapix eval` picks them: the frames with the
    person, their last 15%, at most 16 spread evenly from the first."""
    usable = [r for r in records if r["found"]]
    n = len(usable)
    start = min(max(n * 85 // 100, 1), n)
    held = usable[start:]
    step = max(math.ceil(len(held) / 16), 1)
    return held[::step]


def skeleton_strip(target, side):
    with open(os.path.join(target, "poses.jsonl")) as f:
        records = [json.loads(line) for line in f if line.strip()]
    frames = test_frames(records)
    strip = Image.new("RGB", (side * len(frames), side), "black")
    draw = ImageDraw.Draw(strip)
    for i, record in enumerate(frames):
        points = [(x + i * side, y) for x, y, *_ in record["landmarks"]]
        for a, b in BONES:
            draw.line([points[a], points[b]], fill="white", width=3)
        for p in points[11:29]:
            draw.ellipse([p[0] - 3, p[1] - 3, p[0] + 3, p[1] + 3], fill="orange")
    return strip


if __name__ == "__main__":
    main()
