"""Timing helpers the PyTorch baselines share (scripts/bench-*-pytorch.py): a synchronized
mean over repeated calls, and a CUDA graph of a call captured after warm-up on a side stream."""
import time

import torch


def timed(fn, reps=50):
    """Milliseconds per call of `fn`, mean of `reps` after 5 warm-up calls, synchronized."""
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / reps * 1000


def captured(fn):
    """`fn` captured as a CUDA graph (its inputs must stay where they are between replays)."""
    graph, stream = torch.cuda.CUDAGraph(), torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    with torch.cuda.graph(graph):
        fn()
    return graph
