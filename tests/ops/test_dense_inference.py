"""Dense inference on the compiled GEMM (ops.fused._inference_forward): predict's big float32
layers, once hot, in row blocks; the same outputs as NumPy's product to float32 rounding,
and never while a gradient is recorded."""
import types

import numpy as np
import pytest

import glassnet as gn
from glassnet import compiled, parallel
from glassnet.ops import fused

pytest.importorskip("numba")
from glassnet.compiled import gemm  # noqa: E402


@pytest.fixture
def counted(monkeypatch):
    calls = []
    spy = types.SimpleNamespace(matmul=lambda a, b, out: calls.append(a.shape[0]) or gemm.matmul(a, b, out))
    monkeypatch.setattr(compiled, "hot", lambda: types.SimpleNamespace(gemm=spy))
    monkeypatch.setattr(fused, "INFERENCE_SPLIT_MACS", 1000)
    monkeypatch.setattr(parallel, "threads", lambda: 2)
    return calls


def _model():
    gn.utils.set_random_seed(0)
    return gn.Sequential([gn.Input((24,)), gn.layers.Dense(32, activation="relu"), gn.layers.Dense(16, activation="tanh"),
                          gn.layers.Dense(3, activation="softmax")])


def test_predict_equals_numpy(counted, monkeypatch):
    x = np.random.default_rng(0).standard_normal((40, 24)).astype(np.float32)
    model = _model()
    counted.clear()  # building the model ran a forward pass on a sample
    fast = model.predict(x, batch_size=40, verbose=0)
    assert counted == [20, 20, 20, 20]  # two layers of units % 16 == 0, two row blocks each
    monkeypatch.setattr(compiled, "hot", lambda: None)
    np.testing.assert_allclose(fast, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_training_keeps_numpy(counted):
    model = _model()
    model.compile("sgd", "sparse_categorical_crossentropy")
    counted.clear()
    x = np.zeros((40, 24), np.float32)
    model.train_on_batch(x, np.zeros(40, np.int64))
    model(x, training=True)  # an eager call records a graph: its weights need gradients
    assert counted == []
    model.predict(x, verbose=0)
    assert counted


def test_small_or_float64_layers_keep_numpy(counted, monkeypatch):
    monkeypatch.setattr(fused, "INFERENCE_SPLIT_MACS", 1 << 26)
    _model().predict(np.zeros((40, 24), np.float32), verbose=0)
    monkeypatch.setattr(fused, "INFERENCE_SPLIT_MACS", 1000)
    gn.utils.set_random_seed(0)
    model = gn.Sequential([gn.Input((24,)), gn.layers.Dense(32, activation="relu", dtype="float64")])
    model.predict(np.zeros((40, 24)), verbose=0)
    assert counted == []
