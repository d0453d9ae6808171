"""The fused recurrences run a batch as row blocks on several threads (rnn_fused._batch_parts):
outputs, states and every gradient equal those of the whole batch in one block."""
import numpy as np
import pytest

import glassnet as gn
from glassnet import blas
from glassnet.layers import rnn_fused
from tests.layers.fused_paths import rnn_outputs_and_grads

L = gn.layers
N_STATES = {L.SimpleRNN: 1, L.LSTM: 2, L.GRU: 1}
MASK = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1], [0, 0, 1, 1, 0], [1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], bool)


def _run(layer, x, init, seed, blocks, monkeypatch, twice=False):
    """Outputs and gradients with blocks of at least 2 rows on 2 threads, or as one block."""
    monkeypatch.setattr(rnn_fused, "MIN_BLOCK_ROWS", 2 if blocks else 10**9)
    monkeypatch.setattr(blas, "threads", lambda: 2)
    return rnn_outputs_and_grads(layer, x, init, MASK, seed, twice=twice)


@pytest.mark.parametrize("cls", [L.SimpleRNN, L.LSTM, L.GRU])
@pytest.mark.parametrize("kw", [{}, {"go_backwards": True, "dropout": 0.3, "recurrent_dropout": 0.4}])
def test_blocks_equal_one_block(cls, kw, monkeypatch):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 5, 3))
    init = [rng.standard_normal((5, 4)) for _ in range(N_STATES[cls])]
    layer = cls(4, dtype="float64", bias_initializer="random_normal", return_sequences=True, return_state=True,
                seed=7, **kw)
    whole = _run(layer, x, init, 1, False, monkeypatch)
    blocked = _run(layer, x, init, 1, True, monkeypatch)
    assert len(whole) == len(blocked)
    for a, b in zip(whole, blocked):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-13)


def test_lstm_backward_twice_in_blocks(monkeypatch):
    rng = np.random.default_rng(6)
    x, init = rng.standard_normal((5, 5, 3)), [rng.standard_normal((5, 4)) for _ in range(2)]
    layer = L.LSTM(4, dtype="float64", return_sequences=True, return_state=True, dropout=0.2, seed=1)
    once = _run(layer, x, init, 2, True, monkeypatch)
    twice = _run(layer, x, init, 2, True, monkeypatch, twice=True)
    for a, b in zip(once[3:], twice[3:]):
        np.testing.assert_allclose(b, 2 * a, rtol=1e-12, atol=1e-13)


def test_batch_parts(monkeypatch):
    """As many blocks as BLAS may use threads, each of at least MIN_BLOCK_ROWS rows."""
    monkeypatch.setattr(blas, "threads", lambda: 2)
    assert rnn_fused._batch_parts(64) == [slice(0, 32), slice(32, 64)]
    assert rnn_fused._batch_parts(33) == [slice(0, 16), slice(16, 33)]
    assert rnn_fused._batch_parts(31) is None  # two blocks of 16 rows do not fit
    monkeypatch.setattr(blas, "threads", lambda: 1)
    assert rnn_fused._batch_parts(64) is None
    monkeypatch.setattr(blas, "threads", lambda: None)  # not an OpenBLAS glassnet can reach
    assert rnn_fused._batch_parts(64) is None
