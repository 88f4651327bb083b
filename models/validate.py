#!/usr/bin/env python3
"""Check converted ONNX models against their TFLite originals on the same real inputs.

Runs each .tflite with ai-edge-litert (TFLite's own runtime, XNNPACK on CPU, which also
implements MediaPipe's Convolution2DTransposeBias) and the .onnx with onnxruntime, feeds both
the same images, and prints the max absolute difference per output over all images.
Exits 1 if a difference is above --bound times the output's scale (max |value|, at least 1):
the landmark model's segmentation logits reach about 1900, where float32 accumulation order
alone (TFLite's XNNPACK vs its reference kernels) already moves them by up to ~4.

Inputs: the real stills of the shared data set (iper_stills/*.jpg, edn_subject4/frames_png/*.png)
found via --data, $METAPIX_DATA or ../shared/data next to the repository. Without them (a
newcomer's machine) a deterministic synthetic image is used instead, and the output says so.
The crop/resize here is only to get realistic activations, not MediaPipe's preprocessing.

Usage: validate.py [--bound B] [--data DIR] [--json OUT] A.tflite A.onnx [B.tflite B.onnx ...]
"""
import argparse
import glob
import json
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STILLS = ["real/targets/iper_stills/*.jpg", "real/targets/edn_subject4/frames_png/*.png"]


def find_data_dir(arg):
    for d in (arg, os.environ.get("METAPIX_DATA"), os.path.join(REPO, "..", "shared", "data")):
        if d and os.path.isdir(d):
            return os.path.normpath(d)
    return None


def load_images(data_dir):
    """Return [(label, HxWx3 uint8 RGB)]; real stills if available, else one synthetic image."""
    paths = []
    if data_dir:
        for pattern in STILLS:
            paths += sorted(glob.glob(os.path.join(data_dir, pattern)))
    if paths:
        from PIL import Image
        return [(os.path.relpath(p, data_dir), np.asarray(Image.open(p).convert("RGB")))
                for p in paths]
    # Deterministic stand-in: smooth colour gradients, a bright blob and mild noise, so
    # that activations are not all saturated or all zero.
    h = w = 512
    y, x = np.mgrid[0:h, 0:w] / float(h)
    blob = np.exp(-((x - 0.5) ** 2 / 0.02 + (y - 0.45) ** 2 / 0.08))
    img = np.stack([x, y, 0.5 + 0.5 * np.sin(6 * x + 4 * y)], -1) * 0.6 + blob[..., None] * 0.4
    img += np.random.default_rng(0).normal(0, 0.03, img.shape)
    return [("synthetic", (np.clip(img, 0, 1) * 255).astype(np.uint8))]


def to_input(img, h, w, model_name):
    """Centre square crop, bilinear resize, then the model's value range
    (detector: [-1, 1]; landmark and segmentation models: [0, 1])."""
    from PIL import Image
    ih, iw = img.shape[:2]
    s = min(ih, iw)
    top, left = (ih - s) // 2, (iw - s) // 2
    crop = Image.fromarray(img[top:top + s, left:left + s]).resize((w, h), Image.BILINEAR)
    x = np.asarray(crop, np.float32)[None]
    return x / 127.5 - 1.0 if "detection" in model_name else x / 255.0


def compare(tflite_path, onnx_path, images):
    from ai_edge_litert.interpreter import Interpreter
    import onnxruntime as ort

    interp = Interpreter(model_path=tflite_path)
    interp.allocate_tensors()
    (inp,) = interp.get_input_details()
    outs = interp.get_output_details()
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    onnx_in = sess.get_inputs()[0]
    onnx_names = [o.name for o in sess.get_outputs()]
    if onnx_in.name != inp["name"] or sorted(onnx_names) != sorted(o["name"] for o in outs):
        raise SystemExit(f"{onnx_path}: tensor names differ from {tflite_path}")
    stats = {o["name"]: {"max_abs_diff": 0.0, "max_abs_value": 0.0} for o in outs}
    _, h, w, _ = inp["shape"]
    name = os.path.basename(tflite_path)
    for _, img in images:
        x = to_input(img, h, w, name)
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        got = dict(zip(onnx_names, sess.run(None, {onnx_in.name: x})))
        for o in outs:
            ref = interp.get_tensor(o["index"])
            if ref.shape != got[o["name"]].shape:
                raise SystemExit(f"{onnx_path}: {o['name']} shape {got[o['name']].shape} != {ref.shape}")
            s = stats[o["name"]]
            s["max_abs_diff"] = max(s["max_abs_diff"], float(np.abs(ref - got[o["name"]]).max()))
            s["max_abs_value"] = max(s["max_abs_value"], float(np.abs(ref).max()))
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--bound", type=float, default=1e-2,
                    help="max allowed abs difference, per unit of output scale (default 1e-2)")
    ap.add_argument("--data", help="data dir holding real/ (default: $METAPIX_DATA, ../shared/data)")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("pairs", nargs="+", help="TFLITE ONNX pairs")
    args = ap.parse_args()
    if len(args.pairs) % 2:
        ap.error("give .tflite/.onnx pairs")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    data_dir = find_data_dir(args.data)
    images = load_images(data_dir)
    if images[0][0] == "synthetic":
        print("validate: no real stills found (../shared/data or $METAPIX_DATA); "
              "using a deterministic synthetic image instead")
    else:
        print(f"validate: {len(images)} real stills from {data_dir}")
    report, failed = {"inputs": [label for label, _ in images], "models": {}}, []
    for tfl, onx in zip(args.pairs[::2], args.pairs[1::2]):
        stats = compare(tfl, onx, images)
        report["models"][os.path.basename(onx)] = stats
        for out, s in stats.items():
            s["tolerance"] = args.bound * max(1.0, s["max_abs_value"])
            ok = s["max_abs_diff"] <= s["tolerance"]
            failed += [] if ok else [f"{os.path.basename(onx)}:{out}"]
            print(f"  {os.path.basename(onx):26s} {out:14s} max|diff| {s['max_abs_diff']:.3g}"
                  f"  (max|value| {s['max_abs_value']:.3g}, tolerance {s['tolerance']:.3g})"
                  f"  {'ok' if ok else 'FAIL'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if failed:
        print(f"validate: difference above tolerance in {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
