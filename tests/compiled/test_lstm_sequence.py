"""The LSTM's whole recurrence in one compiled call each way (compiled.lstm_sequence, with
the compiled GEMM) equals the op's NumPy steps and its stepwise compiled cells: outputs,
states and every gradient, whole batches and batch blocks; masked steps and recurrent
dropout keep the op's own loop."""
import types

import numpy as np
import pytest

import glassnet as gn
from glassnet import compiled
from glassnet.layers import rnn_fused
from tests.layers.fused_paths import rnn_outputs_and_grads

pytest.importorskip("numba")
from glassnet.compiled import gemm, lstm_sequence  # noqa: E402

L = gn.layers
MASK = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1], [0, 0, 1, 1, 0], [1, 1, 1, 1, 1]] * 9, bool)  # 36 rows


def _run(layer, x, init, mode, monkeypatch, mask=None):
    """mode: "numpy" (the op's NumPy steps), "cells" (compiled step by step), "sequence"."""
    kernels = compiled.load()
    monkeypatch.setattr(rnn_fused, "_lstm_cells", lambda: None if mode == "numpy" else kernels.lstm)
    fast = types.SimpleNamespace(gemm=gemm, lstm_sequence=lstm_sequence)
    monkeypatch.setattr(compiled, "hot", lambda: fast if mode == "sequence" else None)
    used = []
    real = rnn_fused._lstm_sequence
    monkeypatch.setattr(rnn_fused, "_lstm_sequence", lambda *a: used.append(real(*a)) or used[-1])
    results = rnn_outputs_and_grads(layer, x, init, mask, seed=1)
    return results, any(u is not None for u in used)


@pytest.mark.parametrize("kw", [{}, {"activation": "sigmoid", "go_backwards": True}, {"use_bias": False}])
@pytest.mark.parametrize("batch", [5, 36])  # 36 rows: two batch blocks on two threads
def test_sequence_equals_the_steps(kw, batch, monkeypatch):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((batch, 6, 3)).astype(np.float32)
    init = [rng.standard_normal((batch, 16)).astype(np.float32) for _ in range(2)]
    layer = L.LSTM(16, bias_initializer="random_normal", return_sequences=True, return_state=True, seed=5, **kw)
    plain, _ = _run(layer, x, init, "numpy", monkeypatch)
    cells, _ = _run(layer, x, init, "cells", monkeypatch)
    seq, used = _run(layer, x, init, "sequence", monkeypatch)
    assert used
    for a, b, c in zip(plain, cells, seq):
        assert c.dtype == np.float32
        np.testing.assert_allclose(c, b, rtol=2e-5, atol=2e-6)
        np.testing.assert_allclose(c, a, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("case", ["masked", "recurrent_dropout", "units"])
def test_the_op_keeps_its_loop_where_the_sequence_does_not_fit(case, monkeypatch):
    rng = np.random.default_rng(3)
    units = 12 if case == "units" else 16
    x = rng.standard_normal((36, 5, 3)).astype(np.float32)
    init = [rng.standard_normal((36, units)).astype(np.float32) for _ in range(2)]
    kw = {"recurrent_dropout": 0.4} if case == "recurrent_dropout" else {}
    layer = L.LSTM(units, return_sequences=True, return_state=True, seed=5, **kw)
    mask = MASK if case == "masked" else None
    plain, _ = _run(layer, x, init, "numpy", monkeypatch, mask)
    seq, used = _run(layer, x, init, "sequence", monkeypatch, mask)
    assert not used
    for a, c in zip(plain, seq):
        np.testing.assert_allclose(c, a, rtol=2e-5, atol=2e-6)
