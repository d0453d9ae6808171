"""The fused LSTM op with its compiled cell steps equals its NumPy steps (outputs, states and
every gradient), for both dtypes, both cell activations, masks, dropout and batch blocks."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import compiled
from glassnet.layers import rnn_fused
from tests.layers.fused_paths import rnn_outputs_and_grads

pytest.importorskip("numba")

L = gn.layers
MASK = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1], [0, 0, 1, 1, 0], [1, 1, 1, 1, 1]] * 9, bool)  # 36 rows
TOL = {"float64": dict(rtol=1e-11, atol=1e-12), "float32": dict(rtol=2e-5, atol=2e-6)}


def _run(layer, x, init, cells, monkeypatch, mask):
    monkeypatch.setattr(rnn_fused, "_lstm_cells", lambda: cells)
    return rnn_outputs_and_grads(layer, x, init, mask, seed=1)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kw", [{}, {"activation": "sigmoid", "go_backwards": True},
                                {"dropout": 0.3, "recurrent_dropout": 0.4}])
@pytest.mark.parametrize("masked", [False, True])
def test_compiled_cells_equal_the_numpy_steps(dtype, kw, masked, monkeypatch):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((36, 5, 3)).astype(dtype)  # 36 rows: two batch blocks on two threads
    init = [rng.standard_normal((36, 8)).astype(dtype) for _ in range(2)]
    layer = L.LSTM(8, dtype=dtype, bias_initializer="random_normal", return_sequences=True, return_state=True,
                   seed=5, **kw)
    mask = MASK if masked else None
    plain = _run(layer, x, init, None, monkeypatch, mask)
    fast = _run(layer, x, init, compiled.load().lstm, monkeypatch, mask)
    for a, b in zip(plain, fast):
        assert b.dtype == np.dtype(dtype)
        np.testing.assert_allclose(b, a, **TOL[dtype])


def test_cells_are_used_once_training_is_hot(monkeypatch):
    monkeypatch.setitem(compiled._state, "spent", 0.0)
    monkeypatch.setitem(compiled._state, "tried", False)  # as in a fresh process
    monkeypatch.setitem(compiled._state, "kernels", None)
    monkeypatch.setattr(compiled, "HOT_SECONDS", 1e9)
    assert rnn_fused._lstm_cells() is None and not compiled._state["tried"]  # numba not even loaded
    monkeypatch.setattr(compiled, "HOT_SECONDS", 0.0)
    assert rnn_fused._lstm_cells() is compiled.load().lstm


def test_glassnet_numba_0_keeps_the_numpy_steps(monkeypatch):
    monkeypatch.setenv("GLASSNET_NUMBA", "0")
    monkeypatch.setitem(compiled._state, "tried", False)
    monkeypatch.setattr(compiled, "HOT_SECONDS", 0.0)
    assert rnn_fused._lstm_cells() is None
