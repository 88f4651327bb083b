#!/usr/bin/env python3
"""Reference pose landmarks from the real MediaPipe (mp.solutions.pose, mediapipe 0.10.21).

Runs mp.solutions.pose (model_complexity=1 = pose_landmark_full, enable_segmentation=False,
smooth_landmarks=False, min_detection_confidence=0.5, min_tracking_confidence=0.5) on the
shared real footage and writes one JSON per input to $CACHE/reference/<stem>.json:
  {"source": "real/...", "mode": "static"|"video", "width": W, "height": H,
   "mediapipe_version": "0.10.21",
   "frames": [{"index": i, "found": bool, "landmarks": [[x_px, y_px, z, visibility, presence]
               x 33] (empty when not found)}]}
x, y are in source pixels (normalized * width / height); z, visibility and presence are as
MediaPipe's graph outputs them (z normalized like x, i.e. in units of the image width).
Inputs whose JSON exists with the same mediapipe version are skipped (--force redoes them).

Facts read from the installed package (mediapipe 0.10.21), which the Rust tracker relies on:

* Timestamps. mediapipe/python/solution_base.py, SolutionBase.process(): the graph is fed a
  simulated timestamp that starts at 0 and is advanced by 33333 us *before* each process()
  call ("to simulate the 30 fps video input"), so frame i (0-based) is at (i + 1) * 33333 us,
  whatever the clip's real frame rate (16 fps, 5 fps ...). The One-Euro filters take their
  rate from these timestamps (one_euro_filter.cc): the first sample after a (re)start uses
  the option's frequency 30, later ones 1 / 33.333 ms = 30.0003 Hz. Smoothing calculators
  reset their filters on any frame without landmarks.
* Graph (pose_landmark_cpu.binarypb expanded with the package's own ValidatedGraphConfig,
  i.e. its registered subgraphs PoseLandmarkFiltering, PoseLandmarksToRoi, ...; this script
  writes that expansion to <out>/pose_graph.pbtxt):
  - auxiliary landmarks (rows 33, 34): VisibilitySmoothingCalculator low_pass_filter
    alpha 0.1, then LandmarksSmoothingCalculator one_euro_filter {min_cutoff 0.01, beta 10,
    derivate_cutoff 1} (frequency default 30, min_allowed_object_scale default 1e-6,
    disable_value_scaling false: value scaling on). Both sit outside the smooth_landmarks
    switch containers: they always run, also with smooth_landmarks=False.
    Object scale = the OBJECT_SCALE_ROI rect of the *unfiltered* aux landmarks
    (AlignmentPointsRects 0->1, 90 deg, no 1.25): (w*W + h*H)/2 = 2*|aux34 - aux33| px.
  - the 33 landmarks: with smooth_landmarks=False the switch containers pick no_filter for
    both visibility and coordinates (enabled: low-pass 0.1 / one-euro 0.05, 80, 1).
  - next ROI: filtered aux landmarks -> AlignmentPointsRects (start 0 = aux33, end 1 = aux34,
    target 90 deg) -> RectTransformation scale 1.25 x 1.25, square_long.
  - re-detection: the detector only runs when the previous frame produced no ROI from
    landmarks (GateCalculator DISALLOW: prev rect present). That ROI is missing when the
    landmark model's presence score (Identity_1) is not > min_tracking_confidence
    (ThresholdingCalculator: value > threshold), or when no detection scored
    >= min_detection_confidence. A lost frame has no landmarks; detection runs on the
    *next* frame. static_image_mode=True sets use_prev_landmarks=False: detect every frame.

Video frames are decoded here with OpenCV (cv2.VideoCapture, BGR -> RGB); the Rust side
decodes with GStreamer, so tiny decoder differences are possible.

Usage: mediapipe_reference.py [--data DIR] [--out DIR] [--force]
"""
import argparse
import glob
import json
import os
import sys

os.environ.setdefault("GLOG_minloglevel", "2")  # best effort; reference.sh filters the rest
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import mediapipe as mp  # noqa: E402
from mediapipe.python.solution_base import SolutionBase  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STILLS = ["real/targets/iper_stills/*.jpg", "real/targets/edn_subject4/frames_png/*.png"]
CLIPS = ["real/driving/unianimate_source_video.mp4", "real/driving/tfjs_pose_1.mp4",
         "real/targets/tfjs_pose_squats.mp4"]
POSE_ARGS = dict(model_complexity=1, enable_segmentation=False, smooth_landmarks=False,
                 min_detection_confidence=0.5, min_tracking_confidence=0.5)


def find_data_dir(arg):
    for d in (arg, os.environ.get("METAPIX_DATA"), os.path.join(REPO, "..", "shared", "data")):
        if d and os.path.isdir(d):
            return os.path.normpath(d)
    return None


def dump_graph(out_dir):
    """Write the pose graph with all its subgraphs expanded (as MediaPipe itself expands
    pose_landmark_cpu.binarypb), so the facts above can be looked up: pose_graph.pbtxt."""
    from mediapipe.python._framework_bindings import resource_util, validated_graph_config
    root = os.path.dirname(os.path.dirname(os.path.abspath(mp.__file__)))
    resource_util.set_resource_dir(root)
    graph = validated_graph_config.ValidatedGraphConfig()
    graph.initialize(binary_graph_path=os.path.join(
        root, "mediapipe/modules/pose_landmark/pose_landmark_cpu.binarypb"))
    with open(os.path.join(out_dir, "pose_graph.pbtxt"), "w") as f:
        f.write(graph.text_config)


def run_frame(pose, rgb, width, height, index):
    # SolutionBase.process, not Pose.process: the latter clears the `presence` field that the
    # graph computed (pose.py, "landmark.ClearField('presence')"), and we want to keep it.
    res = SolutionBase.process(pose, {"image": rgb})
    if not res.pose_landmarks:
        return {"index": index, "found": False, "landmarks": []}
    rows = [[lm.x * width, lm.y * height, lm.z, lm.visibility, lm.presence]
            for lm in res.pose_landmarks.landmark]
    return {"index": index, "found": True, "landmarks": rows}


def frames_of(path):
    """Yield RGB frames of a video, decoded by OpenCV."""
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise RuntimeError(f"cannot open {path}")
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                return
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


def process_input(path, data_dir, mode):
    with mp.solutions.pose.Pose(static_image_mode=(mode == "static"), **POSE_ARGS) as pose:
        if mode == "static":
            bgr = cv2.imread(path, cv2.IMREAD_COLOR)
            if bgr is None:
                raise RuntimeError(f"cannot read {path}")
            images = [cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)]
        else:
            images = frames_of(path)
        frames, width, height = [], 0, 0
        for i, rgb in enumerate(images):
            height, width = rgb.shape[:2]
            frames.append(run_frame(pose, rgb, width, height, i))
    return {"source": os.path.relpath(path, data_dir), "mode": mode, "width": width,
            "height": height, "mediapipe_version": mp.__version__, "frames": frames}


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--data", help="data dir holding real/ (default: $METAPIX_DATA, ../shared/data)")
    # same cache root as models/common.sh and the Rust side (src/assets.rs)
    cache = os.environ.get("METAPIX_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "metapix")
    ap.add_argument("--out", default=os.path.join(cache, "reference"))
    ap.add_argument("--force", action="store_true", help="redo inputs whose JSON exists")
    args = ap.parse_args()

    data_dir = find_data_dir(args.data)
    if not data_dir:
        print("mediapipe_reference: no data dir (../shared/data or $METAPIX_DATA); nothing to do")
        return 0
    inputs = [(p, "static") for pat in STILLS for p in sorted(glob.glob(os.path.join(data_dir, pat)))]
    inputs += [(os.path.join(data_dir, c), "video") for c in CLIPS]
    os.makedirs(args.out, exist_ok=True)
    print(f"mediapipe {mp.__version__}; data {data_dir}; output {args.out}")
    dump_graph(args.out)
    for path, mode in inputs:
        if not os.path.exists(path):
            print(f"  missing {path}, skipped")
            continue
        stem = os.path.splitext(os.path.basename(path))[0]
        out = os.path.join(args.out, stem + ".json")
        if not args.force and os.path.exists(out):
            try:
                with open(out) as f:
                    old = json.load(f)
                if old.get("mediapipe_version") == mp.__version__:
                    found = sum(fr["found"] for fr in old["frames"])
                    print(f"  {stem:32s} {mode:6s} {found:4d}/{len(old['frames']):<4d} found (cached)")
                    continue
            except (OSError, ValueError, KeyError):
                pass  # unreadable or foreign: redo it
        result = process_input(path, data_dir, mode)
        tmp = f"{out}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(result, f, separators=(",", ":"))
        os.replace(tmp, out)  # atomic: an interrupted run leaves no half-written JSON
        found = sum(fr["found"] for fr in result["frames"])
        print(f"  {stem:32s} {mode:6s} {found:4d}/{len(result['frames']):<4d} found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
