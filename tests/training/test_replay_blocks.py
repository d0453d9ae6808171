"""A replayed step whose convolutions or poolings want batch blocks holds NumPy's BLAS at one
thread and runs them in blocks; it trains as the eager step does, to float rounding."""
import importlib

import numpy as np

import glassnet as gn
from glassnet import blas, parallel

conv_mod = importlib.import_module("glassnet.ops.conv")
L = gn.layers


def _watch_convolutions(monkeypatch):
    """A list that gets (BLAS held?, ran in blocks?) for each convolution from now on."""
    seen = []
    forward = conv_mod.Conv.forward

    def spy(self, *a, **k):
        out = forward(self, *a, **k)
        seen.append((blas.held(), self.blocks is not None))
        return out
    monkeypatch.setattr(conv_mod.Conv, "forward", spy)
    return seen


def _convnet():
    return gn.Sequential([gn.Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                          L.Dense(3, activation="softmax")])


def test_replay_holds_blas_and_runs_blocks(monkeypatch):
    monkeypatch.setattr(conv_mod, "MIN_BLOCK_VALUES", 100)
    monkeypatch.setattr(parallel, "threads", lambda: 2)
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 8, 8, 1)).astype("float32"), rng.integers(0, 3, 16)
    models = []
    for jit in (False, "auto"):
        gn.utils.set_random_seed(3)
        m = _convnet()
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=jit)
        models.append(m)
    eager, replayed = models
    seen = _watch_convolutions(monkeypatch)
    for _ in range(4):
        a, b = eager.train_on_batch(x, y), replayed.train_on_batch(x, y)
        assert abs(a - b) <= 1e-5 * abs(a)
    trace = [t for t, _ in replayed._step_cache.traces.values()][0]
    assert trace.hold_blas
    assert seen[:2] == [(False, False), (False, False)]  # the first steps of both: eager, whole
    assert seen[-1] == (True, True)  # a replayed step: BLAS held, the convolution in blocks
    assert not blas.held()  # and given back
    for u, v in zip(eager.get_weights(), replayed.get_weights()):
        np.testing.assert_allclose(v, u, rtol=1e-5, atol=1e-6)


def test_small_convnets_do_not_hold_blas():
    rng = np.random.default_rng(1)
    x, y = rng.random((16, 8, 8, 1)).astype("float32"), rng.integers(0, 3, 16)
    m = _convnet()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.train_on_batch(x, y)
    m.train_on_batch(x, y)
    trace = [t for t, _ in m._step_cache.traces.values()][0]
    assert not trace.hold_blas  # 16 x 6 x 6 x 4 outputs: far below MIN_BLOCK_VALUES


def test_predict_holds_blas_once_a_piece_wanted_blocks(monkeypatch):
    monkeypatch.setattr(conv_mod, "MIN_BLOCK_VALUES", 100)
    monkeypatch.setattr(parallel, "threads", lambda: 2)
    rng = np.random.default_rng(2)
    x = rng.random((64, 8, 8, 1)).astype("float32")
    m = _convnet()
    want = m.predict(x, verbose=0, batch_size=64)  # first piece: whole; it tells the model to hold
    seen = _watch_convolutions(monkeypatch)
    got = m.predict(x, verbose=0, batch_size=16)
    assert m._inference_hold and seen and all(held for held, _ in seen)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    assert not blas.held()


def test_eager_steps_hold_blas_after_one_wanted_blocks(monkeypatch):
    monkeypatch.setattr(conv_mod, "MIN_BLOCK_VALUES", 100)
    monkeypatch.setattr(parallel, "threads", lambda: 2)
    rng = np.random.default_rng(3)
    x, y = rng.random((16, 8, 8, 1)).astype("float32"), rng.integers(0, 3, 16)
    m = _convnet()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
    m.train_on_batch(x, y)
    assert m._step_cache.eager_hold
    seen = _watch_convolutions(monkeypatch)
    m.train_on_batch(x, y)
    assert seen == [(True, True)]
