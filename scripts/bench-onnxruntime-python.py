#!/usr/bin/env python3
"""The pose models under Python's onnxruntime (same library and ONNX files as the Rust stage,
1 thread, random input): the baseline the Rust figures in docs/BENCHMARKS.md are compared with.
Run with the tools venv: ~/.cache/metapix/venv/bin/python scripts/bench-onnxruntime-python.py"""
import os
import time

import numpy as np
import onnxruntime as ort

CACHE = os.environ.get("METAPIX_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "metapix")
for name, shape in [("pose_detection", (1, 224, 224, 3)), ("pose_landmark_full", (1, 256, 256, 3))]:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    s = ort.InferenceSession(os.path.join(CACHE, "models", name + ".onnx"), so,
                             providers=["CPUExecutionProvider"])
    x = np.random.rand(*shape).astype(np.float32)
    for _ in range(5):
        s.run(None, {"input_1": x})
    times = []
    for _ in range(100):
        t = time.perf_counter()
        s.run(None, {"input_1": x})
        times.append(time.perf_counter() - t)
    print(f"python onnxruntime {name}: median {1000 * np.median(times):.2f} ms")
