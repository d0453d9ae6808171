"""Training with the compiled AVX-512 GEMM (once the process is hot) follows the NumPy path:
a convnet (implicit-GEMM convolutions, replayed in batch blocks), an LSTM text model (the
compiled recurrence) and a GRU one reach the same losses and weights to float32 rounding."""
import importlib
import types

import numpy as np
import pytest

import glassnet as gn
from glassnet import compiled, parallel

pytest.importorskip("numba")
from glassnet.compiled import gemm, lstm_sequence  # noqa: E402

conv_mod = importlib.import_module("glassnet.ops.conv")
L = gn.layers


def _counting(module, names, calls):
    """``module`` with its functions ``names`` counted in ``calls``."""
    def counted(name):
        fn = getattr(module, name)
        return lambda *a, **k: calls.append(name) or fn(*a, **k)
    return types.SimpleNamespace(**{**vars(module), **{n: counted(n) for n in names}})


def _hot_with_gemm(monkeypatch, on):
    """compiled.hot() as when hot: the real kernels, with the GEMM on (whatever this CPU) or
    off; returns the list of compiled GEMM and recurrence calls."""
    kernels, calls = compiled.load(), []
    fast = types.SimpleNamespace(**{**vars(kernels),
                                    "gemm": _counting(gemm, ["gemm", "matmul"], calls) if on else None,
                                    "lstm_sequence": (_counting(lstm_sequence, ["forward_sequence", "backward_sequence"],
                                                                calls) if on else None)})
    monkeypatch.setattr(compiled, "hot", lambda: fast)
    return calls


def _train(build, loss, x, y, monkeypatch, on, steps=4):
    calls = _hot_with_gemm(monkeypatch, on)
    gn.utils.set_random_seed(7)
    model = build()
    model.compile(optimizer="adam", loss=loss)
    losses = [model.train_on_batch(x, y) for _ in range(steps)]
    return losses, model.get_weights(), set(calls)


def _compare(a, b):
    np.testing.assert_allclose(a[0], b[0], rtol=1e-4)
    for u, v in zip(a[1], b[1]):
        np.testing.assert_allclose(v, u, rtol=2e-4, atol=2e-5)


def test_convnet_trains_as_with_numpy(monkeypatch):
    monkeypatch.setattr(conv_mod, "MIN_BLOCK_VALUES", 1000)  # batch blocks on two threads, as on the benchmark
    monkeypatch.setattr(parallel, "threads", lambda: 2)
    rng = np.random.default_rng(0)
    x, y = rng.random((12, 12, 12, 1)).astype("float32"), rng.integers(0, 5, 12)

    def build():
        return gn.Sequential([gn.Input((12, 12, 1)), L.Conv2D(16, 3, activation="relu"), L.MaxPooling2D(2),
                              L.Conv2D(32, 3, activation="relu", padding="same"), L.Flatten(),
                              L.Dense(5, activation="softmax")])

    plain = _train(build, "sparse_categorical_crossentropy", x, y, monkeypatch, False)
    fast = _train(build, "sparse_categorical_crossentropy", x, y, monkeypatch, True)
    assert fast[2] == {"gemm"}  # the convolutions' implicit GEMMs
    _compare(plain, fast)


# the LSTM: its products and its compiled recurrence; the GRU: its products
@pytest.mark.parametrize("recurrent,calls", [(L.LSTM, {"matmul", "forward_sequence", "backward_sequence"}),
                                             (L.GRU, {"matmul"})])
def test_recurrent_text_model_trains_as_with_numpy(recurrent, calls, monkeypatch):
    rng = np.random.default_rng(1)
    x, y = rng.integers(1, 50, (36, 7)), rng.integers(0, 2, 36).astype("float32")

    def build():
        return gn.Sequential([gn.Input((7,), dtype="int64"), L.Embedding(50, 16), recurrent(16),
                              L.Dense(1, activation="sigmoid")])

    plain = _train(build, "binary_crossentropy", x, y, monkeypatch, False)
    fast = _train(build, "binary_crossentropy", x, y, monkeypatch, True)
    assert fast[2] == calls
    _compare(plain, fast)
