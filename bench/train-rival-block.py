"""One rival block for bench/train-interleaved.mjs: the benchmark MLP of bench/train-rivals.py
(784-256-256-10, ReLU, softmax, categorical cross-entropy, Adam 1e-3) in PyTorch or TensorFlow.

Usage: python train-rival-block.py WHAT THREADS
  WHAT: torch-train (hand loop, batch 128), tf-train (tf.function loop, batch 128) or
        torch-infer (forward + softmax, batch 1024, no grad)
Prints the median of 5 timed blocks (steps/s, or samples/s for inference) after a warm-up block.
"""

import importlib.util
import os
import statistics
import sys
import time

import numpy as np

spec = importlib.util.spec_from_file_location("train_rivals", os.path.join(os.path.dirname(__file__), "train-rivals.py"))
rivals = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rivals)

WHAT = sys.argv[1]
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 2


def median_rate(block, warm):
    block(warm)
    return statistics.median(block(300 if WHAT.endswith("train") else 100) for _ in range(5))


if WHAT.startswith("torch"):
    import torch

    torch.set_num_threads(THREADS)
    model, opt, loss_fn = rivals.torch_mlp(torch)
    if WHAT == "torch-train":
        x, y = (torch.from_numpy(a) for a in rivals.data(np, rivals.BATCH, 3))
        target = y.argmax(1)

        def block(n):
            t0 = time.perf_counter()
            for _ in range(n):
                opt.zero_grad(set_to_none=True)
                loss_fn(model(x), target).backward()
                opt.step()
            return n / (time.perf_counter() - t0)

        print(median_rate(block, 100))
    else:
        xi = torch.from_numpy(rivals.data(np, rivals.INFER_BATCH, 5)[0])

        def block(n):
            t0 = time.perf_counter()
            with torch.no_grad():
                for _ in range(n):
                    torch.softmax(model(xi), 1)
            return n * rivals.INFER_BATCH / (time.perf_counter() - t0)

        print(median_rate(block, 20))
elif WHAT == "tf-train":
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    _, step = rivals.keras_mlp(tf)
    x, y = (tf.constant(a) for a in rivals.data(np, rivals.BATCH, 3))

    def block(n):
        t0 = time.perf_counter()
        for _ in range(n):
            step(x, y)
        float(step(x, y))  # wait for the queue
        return (n + 1) / (time.perf_counter() - t0)

    print(median_rate(block, 100))
else:
    sys.exit(f"unknown WHAT {WHAT!r}: torch-train, tf-train or torch-infer")
