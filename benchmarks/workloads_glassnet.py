"""glassnet side of the benchmark: each workload through the public Keras API only
(Sequential, compile, train_on_batch, predict), so the whole framework's overhead counts."""
import workloads as W


def _models(gn):
    L = gn.layers
    return {
        "tiny": lambda: gn.Sequential([gn.Input((2,)), L.Dense(16, activation="relu"), L.Dense(16, activation="relu"),
                                       L.Dense(1)]),
        "mlp": lambda: gn.Sequential([gn.Input((784,)), L.Dense(512, activation="relu"),
                                      L.Dense(512, activation="relu"), L.Dense(10, activation="softmax")]),
        "cnn": lambda: gn.Sequential([gn.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                                      L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                                      L.Dropout(0.5), L.Dense(10, activation="softmax")]),
        "lstm": lambda: gn.Sequential([gn.Input((W.LSTM_LEN,), dtype="int64"), L.Embedding(W.LSTM_VOCAB, W.LSTM_DIM),
                                       L.LSTM(W.LSTM_UNITS), L.Dense(1, activation="sigmoid")]),
    }


LOSSES = {"tiny": "mse", "mlp": "sparse_categorical_crossentropy", "cnn": "sparse_categorical_crossentropy",
          "lstm": "binary_crossentropy"}


def prepare(name, x, y):
    """glassnet takes the NumPy arrays as they are."""
    return x, y


def build(name, x, y, seed=0):
    """A no-argument function that runs one step of workload ``name`` on (x, y), and the model.

    Training workloads: ``model.train_on_batch(x, y)``. Predict workloads: ``model.predict(x,
    batch_size=1024, verbose=0)`` (one call = several predict batches, see workloads.py).
    """
    import glassnet as gn

    gn.utils.set_random_seed(seed)
    base = name.replace("predict_", "")
    model = _models(gn)[base]()
    model.compile(optimizer=gn.optimizers.Adam(learning_rate=1e-3), loss=LOSSES[base])
    if name.startswith("predict_"):
        return (lambda: model.predict(x, batch_size=W.PREDICT_BATCH, verbose=0)), model
    return (lambda: model.train_on_batch(x, y)), model


def heat():
    """Count this process as hot (glassnet.compiled.hot: as after a second of training), so
    that the next steps run the compiled tier, as the timed steps do after their warm-up."""
    from glassnet import compiled

    compiled.add_training_time(max(0.0, compiled.HOT_SECONDS - compiled._state["spent"]))


def tier(name, model):
    """How glassnet ran workload ``name``'s last step: "compiled" (numba kernels), "replayed"
    (the recorded NumPy ops), "eager", or "predict" (no graph at all)."""
    if name.startswith("predict_"):
        return "predict"
    traces = [t for t, _ in model._step_cache.traces.values() if not isinstance(t, str)]
    if any(t.compiled is not None for t in traces):
        return "compiled"
    return "replayed" if traces else "eager"


def compiled_gemm_gflops(reps):
    """glassnet's compiled float32 GEMM speed (glassnet.compiled.gemm, on this machine's
    threads in row blocks, as its ops run it): best of ``reps`` 1024^3 products; None where it
    does not run (no numba, no AVX-512, GLASSNET_GEMM=0)."""
    import math
    import time

    import numpy as np

    from glassnet import compiled, parallel

    kernels = compiled.load()
    if kernels is None or kernels.gemm is None:
        return None
    n = 1024
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    parts = parallel.split(n, parallel.threads())

    def product():
        parallel.run(lambda sl: kernels.gemm.matmul(a[sl], b, out[sl]), parts)

    product()
    best = math.inf
    for _ in range(reps):
        t = time.perf_counter()
        product()
        best = min(best, time.perf_counter() - t)
    return 2.0 * n ** 3 / best / 1e9
