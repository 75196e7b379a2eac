"""Rivals of bench/train.bench.mjs: the same MLP (784-256-256-10, ReLU, softmax, categorical
cross-entropy, Adam 1e-3), batch 128, trained by PyTorch's hand loop, TensorFlow's tf.function
loop and Keras fit, inference at batch 1024, and the 2048^2 sgemm of NumPy and torch (and
the three products of one inference batch, back to back).

Usage: python train-rivals.py STEPS REPEAT THREADS
Prints one JSON object on its last line; a framework that does not import is reported as null.
Each figure is the median of REPEAT timed blocks after one warm-up block.
"""

import json
import os
import statistics
import sys
import time

# Set from the command line in __main__ (bench/train-rival-block.py imports the builders below).
STEPS, REPEAT, THREADS = 40, 5, 2
BATCH, INFER_BATCH, SIZES = 128, 1024, [784, 256, 256, 10]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def timed(fn):
    fn()
    ts = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def data(np, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, SIZES[0]), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[(np.arange(n) * 7 + seed) % 10]
    return x, y


INFER_SHAPES = [(INFER_BATCH, SIZES[i - 1], SIZES[i]) for i in range(1, len(SIZES))]
INFER_FLOPS = sum(2 * m * k * n for m, k, n in INFER_SHAPES)


def infer_products(make, matmul):
    """GFLOP/s of the three products of one inference batch (1024 x 784 @ 784 x 256, ...), run back to back."""
    pairs = [(make(m, k), make(k, n)) for m, k, n in INFER_SHAPES]
    reps = 20

    def run():
        for _ in range(reps):
            for a, b in pairs:
                matmul(a, b)

    return reps * INFER_FLOPS / timed(run) / 1e9


def numpy_sgemm():
    try:
        import numpy as np
    except ImportError:
        return None
    a = np.ones((2048, 2048), np.float32)
    t = timed(lambda: a @ a)
    return {
        "version": np.__version__,
        "sgemm2048GflopS": 2 * 2048**3 / t / 1e9,
        "inferProductsGflopS": infer_products(lambda r, c: np.ones((r, c), np.float32), lambda a, b: a @ b),
    }


def torch_mlp(torch):
    """The benchmark MLP in PyTorch (seeded), its Adam and its loss (softmax + cross-entropy in one)."""
    torch.manual_seed(1)
    layers = []
    for i in range(1, len(SIZES)):
        layers.append(torch.nn.Linear(SIZES[i - 1], SIZES[i]))
        if i < len(SIZES) - 1:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3), torch.nn.CrossEntropyLoss()


def keras_mlp(tf):
    """The benchmark MLP in Keras and one tf.function training step (Adam, categorical cross-entropy)."""
    keras = tf.keras
    model = keras.Sequential(
        [keras.Input((SIZES[0],))]
        + [
            keras.layers.Dense(SIZES[i], activation="softmax" if i == len(SIZES) - 1 else "relu")
            for i in range(1, len(SIZES))
        ]
    )
    opt = keras.optimizers.Adam(1e-3)
    loss_fn = keras.losses.CategoricalCrossentropy()

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return model, step


def torch_rival():
    try:
        import numpy as np
        import torch
    except ImportError:
        return None
    torch.set_num_threads(THREADS)
    model, opt, loss_fn = torch_mlp(torch)
    x, y = (torch.from_numpy(a) for a in data(np, BATCH, 3))
    target = y.argmax(1)

    def train():
        for _ in range(STEPS):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), target)
            loss.backward()
            opt.step()

    xi = torch.from_numpy(data(np, INFER_BATCH, 5)[0])
    reps = max(1, STEPS // 2)

    def infer():
        with torch.no_grad():
            for _ in range(reps):
                torch.softmax(model(xi), 1)

    a = torch.ones(2048, 2048)
    return {
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "trainStepsPerSec": STEPS / timed(train),
        "inferSamplesPerSec": reps * INFER_BATCH / timed(infer),
        "sgemm2048GflopS": 2 * 2048**3 / timed(lambda: a @ a) / 1e9,
        "inferProductsGflopS": infer_products(lambda r, c: torch.ones(r, c), lambda a, b: a @ b),
    }


def tf_rival():
    try:
        import numpy as np
        import tensorflow as tf
    except ImportError:
        return None
    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras = tf.keras
    model, step = keras_mlp(tf)
    x, y = data(np, BATCH, 3)
    xt, yt = tf.constant(x), tf.constant(y)

    def train():
        for _ in range(STEPS):
            step(xt, yt)
        float(step(xt, yt))  # wait for the queue

    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    xf, yf = data(np, BATCH * STEPS, 7)

    def fit():
        model.fit(xf, yf, batch_size=BATCH, epochs=1, shuffle=True, verbose=0)

    xi = tf.constant(data(np, INFER_BATCH, 5)[0])
    reps = max(1, STEPS // 2)

    @tf.function
    def forward(xb):
        return model(xb, training=False)

    def infer():
        for _ in range(reps):
            forward(xi).numpy()

    return {
        "version": tf.__version__,
        "keras": keras.__version__ if hasattr(keras, "__version__") else None,
        "trainStepsPerSec": (STEPS + 1) / timed(train),
        "fitStepsPerSec": STEPS / timed(fit),
        "inferSamplesPerSec": reps * INFER_BATCH / timed(infer),
    }


if __name__ == "__main__":
    STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else STEPS
    REPEAT = int(sys.argv[2]) if len(sys.argv) > 2 else REPEAT
    THREADS = int(sys.argv[3]) if len(sys.argv) > 3 else THREADS
    out = {"steps": STEPS, "repeat": REPEAT, "threads": THREADS}
    for name, fn in (("numpy", numpy_sgemm), ("torch", torch_rival), ("tensorflow", tf_rival)):
        try:
            out[name] = fn()
        except Exception as e:  # a rival that fails to run is reported, not fatal
            out[name] = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out))
