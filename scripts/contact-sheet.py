#!/usr/bin/env python3
"""A contact sheet from `metapix eval --save-frames DIR`: for some test frames of one target,
each method's frame side by side with the real one.

    contact-sheet.py DIR TARGET OUT.png LABEL=CELL... [--frames 4]

CELL names a saved strip without the target and extension (e.g. `posewarp_k5_t20`); the
real frames (TARGET_real.png) come last. Each strip holds the test frames side by side.
"""
import argparse
import os

from PIL import Image, ImageDraw


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("target")
    ap.add_argument("out")
    ap.add_argument("cells", nargs="+", help="LABEL=CELL")
    ap.add_argument("--frames", type=int, default=4)
    a = ap.parse_args()
    columns = [c.split("=", 1) for c in a.cells] + [["real", "real"]]
    strips = [Image.open(os.path.join(a.dir, f"{a.target}_{cell}.png")).convert("RGB") for _, cell in columns]
    side = strips[-1].height
    count = strips[-1].width // side
    picks = [round(i * (count - 1) / max(a.frames - 1, 1)) for i in range(min(a.frames, count))]
    label_h = 18
    sheet = Image.new("RGB", (side * len(columns), label_h + side * len(picks)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, ((label, _), strip) in enumerate(zip(columns, strips)):
        draw.text((c * side + 4, 3), label, fill="black")
        for r, i in enumerate(picks):
            sheet.paste(strip.crop((i * side, 0, (i + 1) * side, side)), (c * side, label_h + r * side))
    sheet.save(a.out)
    print(f"wrote {a.out}: {len(picks)} frames x {len(columns)} columns")


if __name__ == "__main__":
    main()
