"""One rival block for bench/train-interleaved.mjs: the benchmark MLP (784-256-256-10, ReLU,
softmax, categorical cross-entropy, Adam 1e-3) in PyTorch or TensorFlow.

Usage: python train-rival-block.py WHAT THREADS
  WHAT: torch-train (hand loop, batch 128), tf-train (tf.function loop, batch 128) or
        torch-infer (forward + softmax, batch 1024, no grad)
Prints the median of 5 timed blocks (steps/s, or samples/s for inference) after a warm-up block.
"""

import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402

WHAT = sys.argv[1]
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 2
SIZES = [784, 256, 256, 10]
rng = np.random.default_rng(3)


def median_rate(block, warm):
    block(warm)
    return statistics.median(block(300 if WHAT.endswith("train") else 100) for _ in range(5))


if WHAT.startswith("torch"):
    import torch

    torch.set_num_threads(THREADS)
    torch.manual_seed(1)
    layers = []
    for i in range(1, len(SIZES)):
        layers.append(torch.nn.Linear(SIZES[i - 1], SIZES[i]))
        if i < len(SIZES) - 1:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    if WHAT == "torch-train":
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = torch.nn.CrossEntropyLoss()
        x = torch.from_numpy(rng.standard_normal((128, SIZES[0]), dtype=np.float32))
        target = torch.from_numpy((np.arange(128) * 7 + 3) % 10)

        def block(n):
            t0 = time.perf_counter()
            for _ in range(n):
                opt.zero_grad(set_to_none=True)
                loss_fn(model(x), target).backward()
                opt.step()
            return n / (time.perf_counter() - t0)

        print(median_rate(block, 100))
    else:
        x = torch.from_numpy(rng.standard_normal((1024, SIZES[0]), dtype=np.float32))

        def block(n):
            t0 = time.perf_counter()
            with torch.no_grad():
                for _ in range(n):
                    torch.softmax(model(x), 1)
            return n * 1024 / (time.perf_counter() - t0)

        print(median_rate(block, 20))
elif WHAT == "tf-train":
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras = tf.keras
    model = keras.Sequential(
        [keras.Input((SIZES[0],))]
        + [keras.layers.Dense(SIZES[i], activation="softmax" if i == 3 else "relu") for i in range(1, 4)]
    )
    opt = keras.optimizers.Adam(1e-3)
    loss_fn = keras.losses.CategoricalCrossentropy()
    x = tf.constant(rng.standard_normal((128, SIZES[0]), dtype=np.float32))
    y = tf.constant(np.eye(10, dtype=np.float32)[(np.arange(128) * 7 + 3) % 10])

    @tf.function
    def step(a, b):
        with tf.GradientTape() as tape:
            loss = loss_fn(b, model(a, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    def block(n):
        t0 = time.perf_counter()
        for _ in range(n):
            step(x, y)
        float(step(x, y))  # wait for the queue
        return (n + 1) / (time.perf_counter() - t0)

    print(median_rate(block, 100))
else:
    sys.exit(f"unknown WHAT {WHAT!r}: torch-train, tf-train or torch-infer")
